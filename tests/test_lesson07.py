"""Lesson 07's exercises, its build (held-out seed only in the instructor's copy, the defence
as a hand-graded cell) and the class view that grading writes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest

from scalelab import capstone_scenarios as cs
from scalelab import course
from scalelab.exercises import lesson07 as ex

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "lessons" / "07-capstone.ipynb"
SEED = 424_242


def test_q1_counts_the_forecast_day_and_judges_the_budget():
    assert len(cs.workload(cs.PRACTICE[0])) == ex.FORECAST_REQUESTS
    assert ex.q1.check(...).status == "not_attempted"
    assert ex.q1.check(ex.FORECAST_REQUESTS * 0.005).passed
    for wrong in (ex.FORECAST_REQUESTS * 0.995, ex.FORECAST_REQUESTS * 0.05):
        outcome = ex.q1.check(wrong)
        assert outcome.status == "fail"
        assert f"{ex.FORECAST_REQUESTS * 0.005:.4g}" not in outcome.message


def test_q2_stub_wrong_type_and_a_missing_seed():
    assert ex.q2.check(...).status == "not_attempted"
    outcome = ex.q2.check("three machines")
    assert outcome.status == "fail" and "sl.capstone.Design" in outcome.message
    assert ex.q2.grade(object()).status == "error"  # no seed: say how to grade


def test_q2_solution_passes_practice_and_held_out():
    namespace = {}
    exec("import scalelab as sl\n" + ex.q2.solution_code, namespace)
    design = namespace["design"]
    assert ex.q2.check(design).passed
    graded = ex.q2.grade(design, held_out_seed=SEED)
    assert graded.passed and graded.data["passed"] == graded.data["scenarios"] == 7


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    course.build(out, [LESSON], held_out_seed=SEED)
    return out


def test_the_held_out_seed_is_only_in_the_instructor_copy(built):
    instructor = (built / "instructor" / LESSON.name).read_text()
    student = (built / "student" / LESSON.name).read_text()
    assert f"held_out_seed={SEED}" in instructor
    assert str(SEED) not in student and "held_out_seed" not in student
    for scenario in cs.held_out(SEED):  # no held-out number either
        assert f"{scenario.spike_at:.6g}" not in student


def test_the_defence_is_a_hand_graded_markdown_cell_in_both_copies(built):
    for kind in ("instructor", "student"):
        notebook = nbformat.read(built / kind / LESSON.name, as_version=4)
        cell = next(c for c in notebook.cells if c.metadata.get("scalelab", {}).get("manual"))
        assert cell.cell_type == "markdown"
        meta = cell.metadata["nbgrader"]
        assert meta["solution"] and meta["grade"] and meta["points"] == 4


def _submission(path: Path, design_source: str) -> None:
    cells = [nbformat.v4.new_code_cell("import scalelab as sl"),
             nbformat.v4.new_code_cell("from scalelab.exercises import lesson07 as ex")]
    for exercise in ex.EXERCISES:
        source = design_source if exercise.name == "q2" else exercise.solution_code
        cell = nbformat.v4.new_code_cell(f"{source}\n\nex.{exercise.name}.check("
                                         f"{exercise.answer})")
        cell.metadata["scalelab"] = {"exercise": exercise.id}
        cells.append(cell)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, path)


def test_grading_a_class_with_a_broken_submission_grades_the_rest(tmp_path):
    folder = tmp_path / "submitted"
    folder.mkdir()
    _submission(folder / "ada.ipynb", ex.q2.solution_code)
    _submission(folder / "bob.ipynb", "design = sl.capstone.Design(size=16, min_instances=1, "
                                      "max_instances=1)")
    _submission(folder / "cleo.ipynb", "design = sl.capstone.Design(size=3")  # syntax error
    out = tmp_path / "grades.csv"
    rows = course.grade([folder], out, limits=course.Limits(isolation="none"),
                        held_out_seed=SEED, log=lambda text: None)
    status = {(r["student"], r["exercise"]): r["status"] for r in rows}
    assert status[("ada", "lesson07.q2")] == "pass"
    assert status[("bob", "lesson07.q2")] == "fail"
    assert status[("cleo", "lesson07.q2")] == "error"
    assert status[("cleo", "lesson07.q1")] == "pass"
    with open(tmp_path / "grades-class.csv", encoding="utf-8") as stream:
        table = {row["student"]: row for row in csv.DictReader(stream)}
    assert table["ada"]["passed"] == "7" and float(table["ada"]["cost_per_day"]) <= 40
    assert table["cleo"]["cost_per_day"] == ""
    figure = (tmp_path / "grades-class.html").read_text()
    assert "cost ($ per day)" in figure
    assert json.dumps("ada") in figure or "ada" in figure
