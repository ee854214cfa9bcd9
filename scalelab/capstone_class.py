"""The class view of the capstone for instructors: beside ``grades.csv``, ``grades-class.csv``
(per submission: scenarios passed, the worst held-out error budget spent, the highest cost per
day) and ``grades-class.html``, the class as dots on the cost/SLO plane.

Written by ``python -m scalelab grade`` whenever a graded exercise reports these numbers; a
submission that could not be graded has a row with its status and empty numbers, and no dot.
"""

from __future__ import annotations

from pathlib import Path

FIELDS = ("student", "exercise", "status", "passed", "scenarios", "worst_budget_spent",
          "cost_per_day")


def class_rows(rows: list[dict]) -> list[dict]:
    """One row per submission of each exercise that reports numbers (the capstone's)."""
    exercises = {row["exercise"] for row in rows if row.get("data")}
    out = []
    for row in rows:
        if row["exercise"] in exercises:
            out.append({"student": row["student"], "exercise": row["exercise"],
                        "status": row["status"], **(row.get("data") or {})})
    return out


def write_class_view(out, rows: list[dict]) -> list[Path]:
    """Write the class CSV and figure beside the grades CSV ``out``; return their paths."""
    from .capstone import BUDGET_PER_DAY
    from .exercises.grading import write_csv
    from .plots.lesson07 import class_plane

    out = Path(out)
    table = class_rows(rows)
    csv_path = out.with_name(f"{out.stem}-class.csv")
    html_path = out.with_name(f"{out.stem}-class.html")
    write_csv(csv_path, table, FIELDS)
    class_plane(table, BUDGET_PER_DAY).write_html(html_path, include_plotlyjs=True)
    return [csv_path, html_path]
