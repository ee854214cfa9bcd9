"""Grading submissions: every check, public and instructor-only, on every notebook.

For each submission the grader keeps its code cells, appends one grade cell per exercise of
its lesson (calling :func:`emit`, which runs every check and prints one JSON line), and runs
the result in a sandbox (:mod:`.sandbox`: private folder, time and resource limits, and a
read-only file system when run as root). A broken or hostile submission gets a clear status
and never stops the others.

Statuses: ``pass``, ``fail``, ``not_attempted``, ``error``, ``timeout``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import sandbox
from .sandbox import MARKER, TIMEOUT_ERROR, Limits

STATUSES = ("pass", "fail", "not_attempted", "error", "timeout")
FIELDS = ("student", "exercise", "status", "points", "max_points", "message")


# -- inside the kernel ----------------------------------------------------------------------

def emit(exercise_id: str, get_answer, **options) -> None:
    """Grade ``exercise_id`` on ``get_answer()`` (with ``options``, e.g. the capstone's
    ``held_out_seed``) and print ``MARKER`` + a JSON record."""
    from . import find
    from .outcomes import Error, NotAttempted

    exercise = find(exercise_id)
    try:
        answer = get_answer()
    except NameError as exc:
        outcome = NotAttempted(f"`{exercise.answer}` is not defined ({exc}): the exercise's "
                               "cell was not run, was deleted, or failed before defining it.")
    else:
        try:
            outcome = exercise.grade(answer, **options)
        except Exception as exc:  # noqa: BLE001 - a bug in a check: report it, never pass it
            outcome = Error(f"The grader itself failed on this answer ({type(exc).__name__}: "
                            f"{exc}); please tell the course maintainers.",
                            details=traceback.format_exc(limit=4))
    outcome.exercise = exercise_id
    sys.stdout.write(MARKER + json.dumps(outcome.record(exercise.points)) + "\n")
    sys.stdout.flush()


# -- the grader (parent) --------------------------------------------------------------------

def module_in(notebook):
    """The exercise module a notebook uses: from its metadata, cell tags or imports."""
    from .. import exercises

    lesson = notebook.get("metadata", {}).get("scalelab", {}).get("lesson")
    for cell in notebook.get("cells", []):
        if lesson:
            break
        tag = str(cell.get("metadata", {}).get("scalelab", {}).get("exercise", ""))
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        found = re.match(r"(lesson\d+)\.", tag) or re.search(
            r"scalelab\.exercises(?:\s+import\s+|\.)(lesson\d+)", source)
        lesson = found.group(1) if found else None
    try:
        return getattr(exercises, lesson) if lesson else None
    except AttributeError:
        return None


def grade(paths, out=None, rates=None, limits: Limits | None = None, lesson: str | None = None,
          jobs: int = 1, log=None, held_out_seed: int | None = None) -> list[dict]:
    """Grade every notebook in ``paths`` (files, or folders of ``*.ipynb``); write the rows
    to the CSV ``out`` and the per-exercise pass rates to the CSV ``rates`` if given.

    One row per student (the file's stem) and exercise: status, points, max_points, message.
    Exercises graded on held-out scenarios (the capstone) get ``held_out_seed``, and their
    class view (cost, error budget spent, a figure) is written beside ``out``.
    """
    from .. import exercises

    log = log or (lambda text: print(text, file=sys.stderr))
    files = _notebooks(paths)
    forced = getattr(exercises, lesson) if lesson else None
    limits = sandbox.resolve(limits or Limits(), log)
    log(f"isolation: {limits.isolation}")
    names = _student_names(files)

    def one(path):
        started = time.monotonic()
        rows = grade_one(path, limits, forced, held_out_seed)
        for row in rows:
            row["student"] = names[path]
        passed = sum(1 for r in rows if r["status"] == "pass")
        log(f"graded {names[path]}: {passed}/{len(rows)} passed "
            f"({time.monotonic() - started:.1f} s)")
        return rows

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        rows = [row for result in pool.map(one, files) for row in result]
    if out is not None:
        write_csv(out, rows, FIELDS)
        if any(row.get("data") for row in rows):
            from ..capstone_class import write_class_view
            for path in write_class_view(out, rows):
                log(f"wrote {path}")
    summary = pass_rates(rows)
    if rates is not None:
        write_csv(rates, summary, ("exercise", "max_points", "submissions", *STATUSES,
                                   "pass_rate"))
    log(format_rates(summary))
    return rows


def grade_one(path: Path, limits: Limits, module=None, held_out_seed=None) -> list[dict]:
    """The rows for one submission (``student`` left empty)."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the submission's fault
        return _all(module, "error", f"not a readable notebook ({type(exc).__name__}: "
                                     f"{str(exc)[:200]})")
    module = module or module_in(notebook)
    if module is None:
        return _all(None, "error", "could not tell which lesson this is (no scalelab "
                                   "metadata or `from scalelab.exercises import lessonNN`); "
                                   "grade it with --lesson lessonNN")
    job, owners = _job(notebook, module, limits, held_out_seed)
    result = sandbox.run(job, limits)
    return _rows(module, result, owners, job["first_grade_cell"], limits, job["places"])


def _job(notebook, module, limits: Limits, held_out_seed=None):
    """The notebook to run (the submission's code cells, then one grade cell per exercise)
    and, for each submission cell that belongs to an exercise, which one."""
    import nbformat

    cells, owners, places, heading = [], {}, {}, None
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            heading = _heading(cell.source) or heading
            continue
        if cell.cell_type != "code":
            continue
        owner = _owner(cell, module)
        if owner:
            owners[len(cells)] = owner
        elif heading:
            places[len(cells)] = f"the code cell under “{heading}”"
        skip = not owner and not limits.lab_cells and starts_the_lab(cell.source)
        cells.append(nbformat.v4.new_code_cell(LAB_SKIPPED if skip else cell.source))
    first = len(cells)
    for exercise in module.EXERCISES:
        seed = f", held_out_seed={held_out_seed!r}" \
            if getattr(exercise, "held_out", False) and held_out_seed is not None else ""
        cells.append(nbformat.v4.new_code_cell(
            "from scalelab.exercises.grading import emit as _scalelab_emit\n"
            f"_scalelab_emit({exercise.id!r}, lambda: {exercise.answer}{seed})"))
    runnable = nbformat.v4.new_notebook(cells=cells)
    return {"notebook": runnable, "first_grade_cell": first, "places": places}, owners


# ``--skip-lab``: what replaces a cell that would start real processes. No exercise reads a
# lab's measurements, so the grades do not change; the notebook runs in seconds instead.
LAB_SKIPPED = "pass  # a real-lab cell, skipped while grading (--skip-lab)"
_LAB = re.compile(r"\bsl\.lab\.|\bscalelab\.lab\b|^\s*from\s+scalelab\s+import\s+.*\blab\b",
                  flags=re.MULTILINE)


def starts_the_lab(source: str) -> bool:
    """Whether a code cell uses the real lab (``sl.lab.…``): real processes and real time."""
    return bool(_LAB.search(source))


def _heading(markdown: str) -> str | None:
    """The last heading in a markdown cell, without its #s (None if it has none)."""
    found = re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", markdown, flags=re.MULTILINE)
    return found[-1] if found else None


def _place(i: int, owners: dict, module, places: dict) -> str:
    """Where code cell ``i`` is, in the words of the notebook the learner sees: the exercise
    it answers ("the cell of exercise 4 · Least connections"), else the heading above it."""
    by_id = {e.id: e for e in module.EXERCISES}
    if owners.get(i) in by_id:
        exercise = by_id[owners[i]]
        return f"the cell of exercise {exercise.name.lstrip('q')} · {exercise.title}"
    return places.get(i, f"code cell {i + 1}")


def _owner(cell, module) -> str | None:
    tag = cell.get("metadata", {}).get("scalelab", {}).get("exercise")
    ids = {e.id for e in module.EXERCISES}
    if tag in ids:
        return tag
    for exercise in module.EXERCISES:
        name = re.escape(exercise.answer)
        if re.search(rf"\.{exercise.name}\.check\(|^\s*(def|class)\s+{name}\b|^{name}\s*=",
                     cell.source, flags=re.MULTILINE):
            return exercise.id
    return None


def _rows(module, result: dict, owners: dict, first: int, limits: Limits,
          places: dict | None = None) -> list[dict]:
    places = places or {}
    records = {r.get("exercise"): r for r in result.get("records", [])}
    errors = {int(k): v for k, v in result.get("cell_errors", {}).items()}
    rows = []
    for k, exercise in enumerate(module.EXERCISES):
        record = records.get(exercise.id)
        mine = [(i, errors[i]) for i in sorted(errors) if owners.get(i) == exercise.id]
        late = [i for i, (name, _) in mine if name == TIMEOUT_ERROR]
        broken = [(i, e) for i, e in mine if e[0] != TIMEOUT_ERROR]
        if errors.get(first + k, [""])[0] == TIMEOUT_ERROR:
            row = _row(exercise, "timeout", f"checking this answer took longer than "
                                            f"{limits.cell_timeout:g} s and was stopped")
        elif late and (record is None or record["status"] != "pass"):
            row = _row(exercise, "timeout", f"{_place(late[0], owners, module, places)} ran "
                                            f"longer than {limits.cell_timeout:g} s and was "
                                            f"stopped")
        elif broken and (record is None or record["status"] == "not_attempted"):
            (i, (name, message)), = broken[:1]
            message = re.sub(r"\(\d+\.py, (line \d+)\)", r"(\1)", message)
            row = _row(exercise, "error", f"{_place(i, owners, module, places)} raised "
                                          f"{name}: {message}")
        elif record is not None:
            row = _row(exercise, record["status"], record["message"], record["points"])
            row["data"] = record.get("data")
        elif result.get("total_timeout"):
            row = _row(exercise, "timeout", f"the notebook ran longer than "
                                            f"{limits.total_timeout:g} s in all and was stopped")
        elif result.get("kernel_died") is not None:
            cell = result.get("last_cell")
            where = f" in {_place(cell, owners, module, places)}" \
                if cell is not None and cell < first else ""
            row = _row(exercise, "error", f"the notebook's kernel died{where} (out of memory "
                                          "or file space, or the code ended its own process)")
        else:
            reason = result.get("fatal") or "no result came back"
            row = _row(exercise, "error", f"grading failed: {reason}")
        rows.append(row)
    return rows


def _row(exercise, status: str, message: str, points: float = 0) -> dict:
    return {"student": "", "exercise": exercise.id if exercise else "*", "status": status,
            "points": points if status == "pass" else 0,
            "max_points": exercise.points if exercise else 0, "message": message}


def _all(module, status: str, message: str) -> list[dict]:
    if module is None:
        return [_row(None, status, message)]
    return [_row(e, status, message) for e in module.EXERCISES]


# -- inputs and outputs ---------------------------------------------------------------------

def _notebooks(paths) -> list[Path]:
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.glob("*.ipynb") if not p.name.startswith("."))
        else:
            files.append(path)
    if not files:
        raise FileNotFoundError("no submissions: pass notebooks or folders of notebooks")
    return files


def _student_names(files: list[Path]) -> dict:
    """Each file's stem; where stems repeat (nbgrader's submitted/STUDENT/ASSIGNMENT/NB.ipynb),
    its path below the folder all the files share, without the suffix."""
    stems = [f.stem for f in files]
    if len(set(stems)) == len(stems):
        return {f: f.stem for f in files}
    paths = [f.resolve() for f in files]
    common = Path(os.path.commonpath(paths)) if len(paths) > 1 else paths[0].parent
    return {f: p.relative_to(common).with_suffix("").as_posix() for f, p in zip(files, paths)}


def write_csv(path, rows, fields) -> None:
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def pass_rates(rows: list[dict]) -> list[dict]:
    """Per exercise: how many submissions had each status, and the fraction that passed."""
    table: dict[str, dict] = {}
    for row in rows:
        entry = table.setdefault(row["exercise"], {"exercise": row["exercise"],
                                                   "max_points": row["max_points"],
                                                   "submissions": 0,
                                                   **dict.fromkeys(STATUSES, 0)})
        entry["submissions"] += 1
        entry[row["status"]] += 1
    for entry in table.values():
        entry["pass_rate"] = round(entry["pass"] / entry["submissions"], 3)
    return list(table.values())


def format_rates(summary: list[dict]) -> str:
    head = f"{'exercise':<14}{'pass':>6}{'fail':>6}{'n/a':>6}{'error':>7}{'timeout':>9}  pass rate"
    lines = [head] + [
        f"{s['exercise']:<14}{s['pass']:>6}{s['fail']:>6}{s['not_attempted']:>6}{s['error']:>7}"
        f"{s['timeout']:>9}  {s['pass_rate']:>8.0%}" for s in summary]
    return "\n".join(lines)
