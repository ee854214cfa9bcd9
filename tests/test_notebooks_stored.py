"""Lessons are committed stripped, as nbstripout does, with nbval's rules for the outputs
that are kept (nbval.readthedocs.io).

- no cell keeps outputs unless it is tagged ``keep_output``; such a cell holds
  ``# NBVAL_CHECK_OUTPUT`` (so ``--nbval-lax`` compares it) and has an execution_count
  (nbval skips cells whose stored count is null);
- no widget state in the notebook metadata (a FigureWidget stores a 5 MB bundle there);
- kernelspec ``python3``; file names ``NN-topic.ipynb``.

Strip with ``nbstripout --keep-count lessons/*.ipynb``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

LESSONS_DIR = Path(__file__).resolve().parent.parent / "lessons"
LESSONS = sorted(LESSONS_DIR.glob("*.ipynb"))
NAME = re.compile(r"^\d{2}-[a-z0-9]+(-[a-z0-9]+)*\.ipynb$")
KEEP = "keep_output"

pytestmark = pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def test_file_name_is_nn_topic(path):
    assert NAME.match(path.name), (
        f"{path.name}: lesson files are named like 02-load-balancers.ipynb"
    )


def test_is_valid_nbformat_4(path):
    nb = _read(path)
    assert nb.nbformat == 4
    nbformat.validate(nb)


def test_kernelspec_is_python3(path):
    spec = _read(path).metadata.get("kernelspec", {})
    assert spec.get("name") == "python3", f"{path.name}: kernelspec {spec!r}, want name python3"


def test_no_widget_state_stored(path):
    nb = _read(path)
    assert "widgets" not in nb.metadata, (
        f"{path.name}: metadata.widgets is stored; strip with nbstripout "
        "(or execute with --ExecutePreprocessor.store_widget_state=False)"
    )


def test_only_tagged_cells_keep_outputs(path):
    offenders = [
        i
        for i, cell in enumerate(_read(path).cells)
        if cell.cell_type == "code" and cell.get("outputs") and KEEP not in _tags(cell)
    ]
    assert not offenders, (
        f"{path.name}: cells {offenders} have outputs but no '{KEEP}' tag; "
        "strip with `nbstripout --keep-count lessons/*.ipynb`"
    )


def test_kept_outputs_are_checked_by_nbval(path):
    problems = []
    for i, cell in enumerate(_read(path).cells):
        if KEEP not in _tags(cell):
            continue
        if cell.cell_type != "code":
            problems.append(f"cell {i}: '{KEEP}' on a {cell.cell_type} cell")
            continue
        if "# NBVAL_CHECK_OUTPUT" not in cell.source:
            problems.append(f"cell {i}: '{KEEP}' without '# NBVAL_CHECK_OUTPUT'")
        if not isinstance(cell.get("execution_count"), int):
            problems.append(
                f"cell {i}: '{KEEP}' but execution_count is "
                f"{cell.get('execution_count')!r} (nbval would skip it)"
            )
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
