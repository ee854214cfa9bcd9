"""Instructor tooling: the lessons' Exercises sections, student and instructor builds, grading.

    python -m scalelab build --out DIR [lessons/NN-….ipynb …]
    python -m scalelab grade SUBMISSION.ipynb|FOLDER … --out grades.csv [--rates rates.csv]
    python -m scalelab sync lessons/NN-….ipynb …      # rewrite "## Exercises" from the modules
    python -m scalelab list                           # every exercise: kind, points, checks

A lesson's exercises are declared in ``scalelab/exercises/lessonNN.py``; the committed lesson
holds each exercise's stub in a code cell tagged ``{"scalelab": {"exercise": "lessonNN.qK"}}``.
``build`` writes ``DIR/instructor/`` (stubs replaced by the solution between nbgrader's
``### BEGIN SOLUTION`` / ``### END SOLUTION``, plus a locked grade cell per exercise whose
checks sit in ``### BEGIN HIDDEN TESTS``) and ``DIR/student/`` (nbgrader's release form: the
stubs back in place, the hidden tests removed). Both carry nbgrader cell metadata (schema 3).
``grade`` (from :mod:`scalelab.exercises.grading`) runs submissions in a sandbox.
"""

from __future__ import annotations

import copy
import hashlib
import re
import shutil
from pathlib import Path

import nbformat

from . import exercises
from .exercises.grading import grade, module_in
from .exercises.problem import Exercise, Prediction
from .exercises.sandbox import Limits

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
GUIDE = "instructor-guide.md"

INTRO = """## Exercises

Replace each `...` (or the `raise NotImplementedError()` line) with your answer and run the
cell: `check` answers ✓ Correct, ✗ Incorrect (saying what was wrong), ○ Not attempted or
⚠ Error in your code. Stuck? `ex.q1.hint()` gives a hint (call it again for a more explicit
one) and `ex.q1.solution()` a worked answer; predictions are not graded."""


class BuildError(ValueError):
    """A lesson and its exercise module disagree (a stub edited in one place only, …)."""


# -- which lesson ---------------------------------------------------------------------------

def module_for(path: Path, notebook=None):
    """The exercise module of the lesson at ``path``: by file name, else by the notebook's
    metadata or cells. None if the lesson has no exercises."""
    for module in exercises.lessons():
        if module.NOTEBOOK == Path(path).name:
            return module
    return module_in(notebook) if notebook is not None else None


# -- the Exercises section of a lesson ------------------------------------------------------

def _cell_id(*parts: str) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_-]", "-", p) for p in parts)


def exercise_cells(module) -> list:
    """The "## Exercises" section for ``module``'s lesson, as notebook cells."""
    lesson = module.LESSON
    mark = {"scalelab": {"section": lesson}}
    cells = [nbformat.v4.new_markdown_cell(INTRO, id=_cell_id("ex", lesson), metadata=mark),
             nbformat.v4.new_code_cell(f"from scalelab.exercises import {lesson} as ex",
                                       id=_cell_id("ex", lesson, "setup"),
                                       metadata={"scalelab": {"setup": lesson}})]
    for exercise in module.EXERCISES:
        cells.append(nbformat.v4.new_markdown_cell(
            exercise.markdown(), id=_cell_id("ex", exercise.id, "prompt"),
            metadata=copy.deepcopy(mark)))
        cells.append(nbformat.v4.new_code_cell(
            exercise.cell_source(), id=_cell_id("ex", exercise.id),
            metadata={"scalelab": {"exercise": exercise.id}}))
        if isinstance(exercise, Prediction) and exercise.experiment:
            cells.append(nbformat.v4.new_code_cell(
                exercise.experiment, id=_cell_id("ex", exercise.id, "experiment"),
                metadata={"scalelab": {"experiment": exercise.id}}))
    return cells


def _heading(cell) -> str | None:
    if cell.cell_type != "markdown":
        return None
    first = cell.source.lstrip().split("\n", 1)[0]
    return first[3:].strip() if first.startswith("## ") else None


def sync(path: Path) -> bool:
    """Rewrite the lesson's "## Exercises" section from its exercise module (create it before
    "## Summary" if missing, splitting the cell that holds that heading). True if it changed."""
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    module = module_for(path, notebook)
    if module is None:
        raise BuildError(f"{path}: no exercise module declares NOTEBOOK = {path.name!r}")
    cells = notebook.cells
    new = exercise_cells(module)
    start = next((i for i, c in enumerate(cells) if _heading(c) == "Exercises"), None)
    if start is None:  # no heading: a section written by hand or stripped of its metadata?
        generated = {c.source for c in new[1:]}
        start = next((i for i, c in enumerate(cells) if c.source in generated
                      or c.get("metadata", {}).get("scalelab")), None)
    if start is None:
        start = end = _split_before_summary(cells)
    else:
        end = next((i for i in range(start + 1, len(cells)) if _heading(cells[i])), len(cells))
    if [(c.cell_type, c.source, c.metadata) for c in cells[start:end]] == \
            [(c.cell_type, c.source, c.metadata) for c in new]:
        return False
    cells[start:end] = new
    nbformat.validate(notebook)
    nbformat.write(notebook, path)
    return True


def _split_before_summary(cells) -> int:
    """Index where a new section goes: before the "## Summary" heading (split out of the
    markdown cell that holds it, if needed), else at the end."""
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        found = re.search(r"^## Summary", cell.source, flags=re.MULTILINE)
        if not found:
            continue
        if found.start() == 0:
            return i
        before, after = cell.source[:found.start()].rstrip("\n"), cell.source[found.start():]
        cell.source = before
        cells.insert(i + 1, nbformat.v4.new_markdown_cell(after, id=f"{cell.get('id', i)}-summary"))
        return i + 1
    return len(cells)


# -- student and instructor builds ----------------------------------------------------------

def split_solution(stub: str, solution: str) -> tuple[list, list, list, list]:
    """(shared first lines, the stub's own lines, the solution's own lines, shared last
    lines). The middle parts become the solution region; the shared lines stay outside it,
    so a stub whose middle is ``raise NotImplementedError()`` is what nbgrader would write."""
    a, b = stub.split("\n"), solution.split("\n")
    p = 0
    while p < min(len(a), len(b)) and a[p] == b[p]:
        p += 1
    s = 0
    while s < min(len(a), len(b)) - p and a[-1 - s] == b[-1 - s]:
        s += 1
    return a[:p], a[p:len(a) - s], b[p:len(b) - s], a[len(a) - s:]


def _indent(lines: list[str]) -> str:
    widths = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    return " " * min(widths) if widths else ""


def solution_region(exercise: Exercise) -> str:
    """The instructor's version of the stub: the solution between nbgrader's markers."""
    head, stub_own, solution_own, tail = split_solution(exercise.stub, exercise.solution_code)
    if not stub_own or not solution_own:
        raise BuildError(f"{exercise.id}: the stub and the solution must each have lines of "
                         "their own")
    pad = _indent(stub_own)
    return "\n".join(head + [pad + BEGIN_SOLUTION] + solution_own + [pad + END_SOLUTION] + tail)


def clear_solutions(source: str, exercise: Exercise) -> str:
    """What nbgrader's ClearSolutions does, with the exercise's stub as the code stub."""
    _, stub_own, _, _ = split_solution(exercise.stub, exercise.solution_code)
    base = _indent(stub_own)
    out, inside = [], False
    for line in source.split("\n"):
        if BEGIN_SOLUTION in line:
            pad = line[:len(line) - len(line.lstrip())]
            out += [pad + s[len(base):] if s.strip() else s for s in stub_own]
            inside = True
        elif END_SOLUTION in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def clear_hidden_tests(source: str) -> str:
    """What nbgrader's ClearHiddenTests does: drop the hidden-tests regions."""
    out, inside = [], False
    for line in source.split("\n"):
        if BEGIN_HIDDEN in line:
            inside = True
        elif END_HIDDEN in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out).rstrip("\n")


def _nbgrader(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution}
    if grade:
        meta["points"] = points
    return meta


def _grade_cell(exercise: Exercise, held_out_seed: int | None = None):
    worth = f"{exercise.points:g} point{'s' if exercise.points != 1 else ''}"
    source = "\n".join([
        f"# Graded: {exercise.id} ({worth}). The instructor's checks run here when grading.",
        BEGIN_HIDDEN,
        f"import scalelab.exercises.{exercise.id.split('.')[0]} as _lesson",
        f"_lesson.{exercise.name}.grade({exercise.answer}{_held_out(exercise, held_out_seed)})"
        ".assert_passed()",
        END_HIDDEN])
    grade_id = _cell_id(exercise.id, "checks")
    return nbformat.v4.new_code_cell(source, id=grade_id, metadata={
        "nbgrader": _nbgrader(grade_id, grade=True, locked=True, points=exercise.points),
        "scalelab": {"grades": exercise.id}, "editable": False, "deletable": False})


def _held_out(exercise: Exercise, seed: int | None) -> str:
    """The grade call's extra argument for an exercise graded on held-out scenarios: the
    instructor's seed, which only the instructor's copy holds."""
    return f", held_out_seed={seed}" if getattr(exercise, "held_out", False) else ""


def draw_held_out_seed(lessons) -> int | None:
    """A fresh seed for the held-out scenarios if any of ``lessons`` has such an exercise."""
    import secrets

    modules = [module_for(Path(p)) for p in lessons]
    needed = any(getattr(e, "held_out", False) for m in modules if m for e in m.EXERCISES)
    return secrets.randbelow(1_000_000) if needed else None


def _manual_cell(cell) -> None:
    """A markdown answer graded by hand (``{"scalelab": {"manual": id, "points": n}}``): what
    nbgrader calls a manually graded answer cell."""
    tags = cell.metadata["scalelab"]
    cell.metadata["nbgrader"] = _nbgrader(_cell_id(tags["manual"]), solution=True, grade=True,
                                          points=tags.get("points", 1))


def _tags(cell, module) -> dict:
    """The cell's scalelab tags; for a cell that lost them (some editors drop cell metadata),
    the tags its source shows, which are then written back."""
    tags = cell.get("metadata", {}).get("scalelab")
    if tags or cell.cell_type != "code":
        return tags or {}
    if cell.source.strip() == f"from scalelab.exercises import {module.LESSON} as ex":
        tags = {"setup": module.LESSON}
    else:
        tags = next(({"exercise": e.id} for e in module.EXERCISES if e.stub in cell.source
                     and f".{e.name}.check(" in cell.source), {})
    if tags:
        cell.metadata["scalelab"] = tags
    return tags


def instructor_notebook(notebook, module, held_out_seed: int | None = None):
    """The instructor's copy: solutions in place, a locked grade cell after each answer
    (with ``held_out_seed`` for exercises graded on held-out scenarios)."""
    notebook = copy.deepcopy(notebook)
    by_id = {e.id: e for e in module.EXERCISES}
    seen, cells = set(), []
    for cell in notebook.cells:
        tags = _tags(cell, module)
        cells.append(cell)
        if "manual" in tags:
            _manual_cell(cell)
        if "setup" in tags:
            cell.metadata["nbgrader"] = _nbgrader(_cell_id(tags["setup"], "setup"), locked=True)
            cell.metadata.update(editable=False, deletable=False)
        exercise = by_id.get(tags.get("exercise"))
        if exercise is None or cell.cell_type != "code":
            continue
        if exercise.stub not in cell.source:
            raise BuildError(f"{module.NOTEBOOK}: the cell of {exercise.id} no longer holds the "
                             f"stub declared in scalelab/exercises/{module.LESSON}.py; run "
                             f"`python -m scalelab sync lessons/{module.NOTEBOOK}`")
        seen.add(exercise.id)
        cell.source = cell.source.replace(exercise.stub, solution_region(exercise), 1)
        cell.metadata["nbgrader"] = _nbgrader(_cell_id(exercise.id, "answer"), solution=True)
        if exercise.points and not isinstance(exercise, Prediction):
            cells.append(_grade_cell(exercise, held_out_seed))
    missing = [e.id for e in module.EXERCISES if e.id not in seen]
    if missing:
        raise BuildError(f"{module.NOTEBOOK} has no cell for {', '.join(missing)}; run "
                         f"`python -m scalelab sync lessons/{module.NOTEBOOK}`")
    notebook.cells = cells
    notebook.metadata["scalelab"] = {"lesson": module.LESSON, "copy": "instructor"}
    return notebook


def student_notebook(instructor, module):
    """nbgrader's release form of the instructor's copy: stubs back, hidden tests gone."""
    notebook = copy.deepcopy(instructor)
    by_id = {e.id: e for e in module.EXERCISES}
    for cell in notebook.cells:
        tags = cell.get("metadata", {}).get("scalelab", {})
        if tags.get("exercise") in by_id:
            cell.source = clear_solutions(cell.source, by_id[tags["exercise"]])
            cell.metadata["deletable"] = False
        elif "grades" in tags:
            cell.source = clear_hidden_tests(cell.source)
        if "nbgrader" in cell.metadata:  # what nbgrader's release adds (ComputeChecksums)
            cell.metadata.nbgrader.update(cell_type=cell.cell_type, checksum=checksum(cell))
    notebook.metadata["scalelab"] = {"lesson": module.LESSON, "copy": "student"}
    return notebook


def checksum(cell) -> str:
    """nbgrader's checksum of a cell (``nbgrader.utils.compute_checksum``): it lets nbgrader
    notice a locked cell that was edited."""
    meta = cell.metadata["nbgrader"]
    grade, solution = bool(meta.get("grade")), bool(meta.get("solution"))
    locked = not solution and (grade or bool(meta.get("locked")))
    parts = [cell.source, cell.cell_type, str(grade), str(solution), str(locked), meta["grade_id"]]
    if meta.get("grade"):
        parts.append(str(float(meta["points"])))
    return hashlib.md5("".join(parts).encode()).hexdigest()  # nbgrader's own choice


def build(out: Path, lessons=None, held_out_seed: int | None = None) -> list[Path]:
    """Write ``out/instructor/`` and ``out/student/`` for each lesson (default: every
    ``lessons/*.ipynb`` that has exercises). Returns the files written. Held-out scenarios
    (the capstone's) are drawn from ``held_out_seed`` (default: a fresh one; see
    :func:`draw_held_out_seed`), written only into the instructor's copy."""
    out = Path(out)
    paths = [Path(p) for p in lessons] if lessons else sorted(Path("lessons").glob("*.ipynb"))
    if not paths:
        raise BuildError("no lessons to build: pass lessons/NN-….ipynb or run from the "
                         "repository root")
    if held_out_seed is None:
        held_out_seed = draw_held_out_seed(paths)
    written, assets = [], set()
    for kind in ("instructor", "student"):
        (out / kind).mkdir(parents=True, exist_ok=True)
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        module = module_for(path, notebook)
        copies = {"instructor": notebook, "student": notebook}
        if module is not None:
            copies["instructor"] = instructor_notebook(notebook, module, held_out_seed)
            copies["student"] = student_notebook(copies["instructor"], module)
        for kind, result in copies.items():
            nbformat.validate(result)
            nbformat.write(result, out / kind / path.name)
            written.append(out / kind / path.name)
        assets |= _assets(path, notebook)
    for asset, relative in sorted(assets):
        kinds = ("instructor",) if relative == GUIDE else ("instructor", "student")
        for kind in kinds:
            target = out / kind / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(asset, target)
            written.append(target)
    return written


def _assets(path: Path, notebook) -> set[tuple[Path, str]]:
    """(file, path relative to the lesson) for each local file the lesson's markdown links to
    or shows (figures, data), and the instructor guide beside the lessons."""
    folder = path.parent.resolve()
    found = set()
    links = re.compile(r"\]\(([^)\s#]+)|src=[\"']([^\"']+)[\"']")
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for match in links.finditer(cell.source):
            link = match.group(1) or match.group(2)
            if re.match(r"^[a-z]+:", link) or link.endswith(".ipynb"):
                continue  # a web address, or another lesson
            target = (folder / link).resolve()
            if target.is_file() and folder in target.parents:
                found.add((target, target.relative_to(folder).as_posix()))
    if (folder / GUIDE).is_file():
        found.add((folder / GUIDE, GUIDE))
    return found


def exercise_table() -> str:
    """Every exercise, lesson by lesson: a heading with the lesson's title and points, then a
    Markdown table (id, kind, points, what is checked). The instructor guide's "The
    exercises" section is exactly this (``python -m scalelab list --guide …`` writes it)."""
    sections = []
    for module in exercises.lessons():
        points = sum(e.points for e in module.EXERCISES)
        rows = [f"### Lesson {module.LESSON.removeprefix('lesson')} · {module.TITLE} "
                f"({points:g} points)", "",
                "| exercise | kind | points | what is checked |", "|---|---|---|---|"]
        rows += [f"| `{e.id}` | {e.kind} | {e.points:g} | {e.describe()} |"
                 for e in module.EXERCISES]
        sections.append("\n".join(rows))
    return "\n\n".join(sections)


GUIDE_TABLE_START = "so it is always current.\n\n"  # the end of the section's first paragraph


def write_guide_table(path: Path) -> bool:
    """Put :func:`exercise_table` into the guide at ``path`` (its "## The exercises" section,
    after the first paragraph, up to the next "## " heading); whether the file changed."""
    text = Path(path).read_text()
    start = text.index("## The exercises")
    begin = text.index(GUIDE_TABLE_START, start) + len(GUIDE_TABLE_START)
    end = text.index("\n## ", begin)
    updated = text[:begin] + exercise_table() + "\n" + text[end:]
    if updated != text:
        Path(path).write_text(updated)
    return updated != text


# -- how long a lesson takes ------------------------------------------------------------------
# A learner reads prose and code at about 200 words a minute; each exercise takes the time its
# kind usually needs, prompt and retries included (a number or a choice is a short
# calculation; code is written, run and mended).
WORDS_PER_MINUTE = 200
EXERCISE_MINUTES = {"number": 2, "choice": 2, "prediction": 1, "function": 8, "class": 10,
                    "test design": 10, "design": 20}
STATED_LENGTH = re.compile(r"\*\*About (\d+) minutes\.\*\*")


def lesson_minutes(path: Path) -> int:
    """How long the lesson at ``path`` takes: the words of its markdown and code cells at
    :data:`WORDS_PER_MINUTE`, plus :data:`EXERCISE_MINUTES` for each of its exercises, rounded
    up to a multiple of 5 minutes."""
    notebook = nbformat.read(path, as_version=4)
    words = sum(len(cell.source.split()) for cell in notebook.cells
                if cell.cell_type in ("markdown", "code"))
    module = module_for(Path(path), notebook)
    work = sum(EXERCISE_MINUTES[e.kind] for e in module.EXERCISES) if module else 0
    return int(-(-(words / WORDS_PER_MINUTE + work) // 5) * 5)


def stated_minutes(path: Path) -> int | None:
    """The length the lesson's first cell states ("**About N minutes.**"), or None."""
    first = nbformat.read(path, as_version=4).cells[0].source
    match = STATED_LENGTH.search(first)
    return int(match.group(1)) if match else None


__all__ = ["BuildError", "EXERCISE_MINUTES", "Limits", "WORDS_PER_MINUTE", "build",
           "draw_held_out_seed",
           "clear_hidden_tests", "clear_solutions", "exercise_cells", "exercise_table", "grade",
           "instructor_notebook", "lesson_minutes", "module_for", "module_in", "solution_region",
           "split_solution", "stated_minutes", "student_notebook", "sync"]
