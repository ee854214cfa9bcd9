"""Every lesson states how long it takes, and the number is the measured one.

The measure (``scalelab.course.lesson_minutes``): the words of the lesson's markdown and code
at 200 a minute, plus a fixed time per exercise by kind, rounded up to 5 minutes. The README's
lesson table and the instructor guide show the same numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scalelab import course

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]-*.ipynb"))
LONGEST_MINUTES = 45


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.name for p in LESSONS])
def test_stated_length_is_the_measured_one_and_at_most_45_minutes(lesson):
    stated, measured = course.stated_minutes(lesson), course.lesson_minutes(lesson)
    assert stated is not None, f"{lesson.name}: the first cell must say '**About N minutes.**'"
    assert stated == measured, f"{lesson.name} says {stated} min, measures {measured} min"
    assert measured <= LONGEST_MINUTES, f"{lesson.name} takes {measured} min: split or trim it"


def _table_minutes(text: str, link: str) -> int:
    """The minutes on the table row that links to ``link``."""
    row = next((line for line in text.splitlines() if f"({link})" in line), None)
    assert row is not None, f"no table row links to {link}"
    match = re.search(r"\|\s*(\d+) min\s*\|", row)
    assert match, f"the row for {link} has no 'N min' cell: {row}"
    return int(match.group(1))


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.name for p in LESSONS])
def test_readme_and_instructor_guide_show_the_stated_length(lesson):
    stated = course.stated_minutes(lesson)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    guide = (ROOT / "lessons" / course.GUIDE).read_text(encoding="utf-8")
    assert _table_minutes(readme, f"lessons/{lesson.name}") == stated
    assert _table_minutes(guide, lesson.name) == stated


def test_length_counts_words_and_exercises(tmp_path):
    """400 words of prose read in 2 minutes; lesson 00's exercises add their kinds' minutes."""
    import nbformat

    from scalelab.exercises import lesson00

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("**About 5 minutes.** " + "word " * 397)]
    notebook.metadata["scalelab"] = {"lesson": "lesson00"}
    path = tmp_path / "00-start-here.ipynb"
    nbformat.write(notebook, path)
    work = sum(course.EXERCISE_MINUTES[e.kind] for e in lesson00.EXERCISES)
    assert course.lesson_minutes(path) == -(-(2 + work) // 5) * 5
    assert course.stated_minutes(path) == 5
