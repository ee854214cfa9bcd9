"""Every lesson opened in JupyterLab in headless Chromium: Run All works and everything renders.

Parametrized by ``lessons/*.ipynb``, so a lesson added later is covered without editing this
file. Lesson-specific interaction (moving a slider, checking the figure) lives in other tests,
built from the same fixtures (tests/conftest.py) and helpers (tests/browser.py).
"""

from __future__ import annotations

import ast

import nbformat
import pytest
from browser import (
    FIGURE_PROBLEMS,
    PLOT_IS_DRAWN,
    RENDER_TIMEOUT_MS,
    error_outputs,
    format_errors,
    lesson_notebooks,
    open_and_run_all,
    plotly_outputs_expected,
    stderr_outputs,
    wait_for_outputs_to_settle,
    widget_render_problems,
)

LESSONS = lesson_notebooks()
CONTROLS = ".jp-OutputArea .widget-slider, .jp-OutputArea .widget-dropdown"
PLOTS = ".jp-OutputArea .js-plotly-plot"
FLOW_VIEWS = ".jp-OutputArea .scalelab-flow"
# The animated flow views each lesson must show (issue: one per lesson's key mechanism).
FLOW_VIEWS_AT_LEAST = {"00-start-here.ipynb": 1, "02-load-balancers.ipynb": 2,
                       "03-when-instances-fail.ipynb": 2, "04-statelessness.ipynb": 2,
                       "05-autoscaling.ipynb": 1, "06-load-testing.ipynb": 2,
                       "07-capstone.ipynb": 1}
FLOW_STATE = """(el) => ({t0: Number(el.dataset.t0), count: Number(el.dataset.count),
  instances: JSON.parse(el.dataset.instances || '[]'),
  canvas: !!el.querySelector('canvas') && el.querySelector('canvas').width > 0})"""
PLOT_TITLE = """(el) => {
  const layout = el._fullLayout || {}, title = (layout.title && layout.title.text) || '';
  return Object.values(layout._dfltTitle || {}).includes(title) ? '' : title;
}"""

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("notebook", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_runs_and_renders_in_jupyterlab(page, jupyter_server, notebook):
    from playwright.sync_api import expect

    open_and_run_all(page, jupyter_server, notebook.name)
    errors = error_outputs(page)
    assert not errors, f"{notebook.name} shows error output:\n{format_errors(errors)}"

    counts = wait_for_outputs_to_settle(page)
    problems = widget_render_problems(page)
    assert not problems, f"{notebook.name}: widgets did not render: {problems}\n" + "\n".join(
        page.console_errors
    )

    controls = page.locator(CONTROLS)
    for i in range(controls.count()):
        control = controls.nth(i)
        control.scroll_into_view_if_needed()
        expect(control).to_be_visible(timeout=RENDER_TIMEOUT_MS)

    starts = flow_starts(notebook)
    assert len(starts) >= FLOW_VIEWS_AT_LEAST.get(notebook.name, 0), (
        f"{notebook.name} should show at least {FLOW_VIEWS_AT_LEAST[notebook.name]} flow views")
    views = page.locator(FLOW_VIEWS)
    assert views.count() == len(starts), (
        f"{notebook.name}: {len(starts)} sl.widgets.flow calls, {views.count()} views drawn")
    for i, start in enumerate(starts):
        view = views.nth(i)
        view.scroll_into_view_if_needed()
        expect(view).to_be_visible(timeout=RENDER_TIMEOUT_MS)
        shown = view.evaluate(FLOW_STATE)
        assert shown["canvas"] and shown["count"] > 0 and shown["instances"], (i, shown)
        assert start is None or shown["t0"] == start, (
            f"{notebook.name}: flow view #{i} starts at {shown['t0']}, not {start}")

    plots = page.locator(PLOTS)
    assert plots.count() >= plotly_outputs_expected(page), (
        f"{notebook.name}: {plotly_outputs_expected(page)} plotly outputs in the notebook but "
        f"only {plots.count()} drawn (is the jupyterlab-plotly extension installed?)"
    )
    unreadable = {}
    for i in range(plots.count()):
        plot = plots.nth(i)
        plot.scroll_into_view_if_needed()
        expect(plot).to_be_visible(timeout=RENDER_TIMEOUT_MS)
        assert plot.evaluate(PLOT_IS_DRAWN), f"{notebook.name}: plot #{i} is not drawn"
        if problems := plot.evaluate(FIGURE_PROBLEMS):
            unreadable[f"plot #{i} ({plot.evaluate(PLOT_TITLE)!r})"] = problems
    assert not unreadable, f"{notebook.name}: figures a reader cannot read: {unreadable}"

    assert not page.console_errors, (
        f"{notebook.name}: browser console errors (rendered {counts}):\n"
        + "\n".join(page.console_errors)
    )


def flow_starts(notebook) -> list[float | None]:
    """The ``start=`` of every ``sl.widgets.flow(…)`` call in the notebook's code, in order:
    the window each view must show (its ``data-t0``); None where the call computes it (lesson
    07 replays the moment its report finds)."""
    starts = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython syntax (%magic, !shell): no flow call to find there
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "sl.widgets.flow":
                start = next(k.value for k in node.keywords if k.arg == "start")
                literal = isinstance(start, ast.Constant | ast.UnaryOp)
                starts.append(float(ast.literal_eval(start)) if literal else None)
    return starts


def test_machinery_reports_a_failing_notebook(page, jupyter_server):
    """Negative control: the helpers must see a traceback, and not mistake stderr (or an
    error the notebook expects, tagged ``raises-exception``) for one."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell(src)
        for src in (
            "import sys; print('just a note', file=sys.stderr)",
            "raise ValueError('shown on purpose')",
            "1 / 0",
            "print('never reached')",
        )
    ]
    nb.cells[1].metadata["tags"] = ["raises-exception"]
    folder = jupyter_server.root_dir / "selftest"
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / "broken.ipynb")

    with pytest.raises(AssertionError, match="ZeroDivisionError") as failure:
        open_and_run_all(page, jupyter_server, "selftest/broken.ipynb")
    assert "cells [3] never ran" in str(failure.value)
    errors = error_outputs(page)
    assert len(errors) == 1 and "ZeroDivisionError: division by zero" in errors[0]
    stderr = stderr_outputs(page)
    assert any("just a note" in text for text in stderr), stderr
    assert any("ZeroDivisionError" in text for text in stderr), stderr
    assert any("shown on purpose" in text for text in stderr), stderr


def test_figure_rules_catch_an_unreadable_figure(page, jupyter_server):
    """Negative control for FIGURE_PROBLEMS: bars on a log axis with one labelled tick, no
    titles; and a figure that follows every rule, which must pass."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "import plotly.graph_objects as go",
        "go.Figure(go.Bar(x=[1, 2, 3], y=[120, 150, 180]),\n"
        "          layout={'yaxis': {'type': 'log', 'tickvals': [150]}})",
        "go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 10, 100]),\n"
        "          layout={'title': 'Latency grows tenfold per step', 'yaxis_type': 'log',\n"
        "                  'xaxis_title': 'step', 'yaxis_title': 'latency (ms)'})",
    )]
    folder = jupyter_server.root_dir / "selftest"
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / "figures.ipynb")
    open_and_run_all(page, jupyter_server, "selftest/figures.ipynb")
    wait_for_outputs_to_settle(page)
    plots = page.locator(PLOTS)
    assert plots.count() == 2
    bad, good = (plots.nth(i) for i in range(2))
    for plot in (bad, good):
        plot.scroll_into_view_if_needed()
        assert plot.evaluate(PLOT_IS_DRAWN)
    problems = bad.evaluate(FIGURE_PROBLEMS)
    assert "no title" in problems and "xaxis: no title" in problems, problems
    assert "yaxis: 1 labelled tick(s) on a log axis" in problems, problems
    assert any(p.startswith("bars") for p in problems), problems
    assert good.evaluate(FIGURE_PROBLEMS) == []
