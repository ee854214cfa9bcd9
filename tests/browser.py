"""Helpers that drive JupyterLab in headless Chromium (Playwright), for the browser tests.

Used with the fixtures in tests/conftest.py (`jupyter_server`, `browser`, `page`)::

    from browser import open_and_run_all, error_outputs

    @pytest.mark.browser
    def test_slider(page, jupyter_server):
        open_and_run_all(page, jupyter_server, "02-load-balancers.ipynb")
        assert error_outputs(page) == []
        slider = page.locator(".jp-OutputArea .widget-slider").first
        ...

The server runs with ``--LabApp.expose_app_in_browser``, so the helpers read the notebook
*model* through ``window.jupyterapp``. In JupyterLab 4.6 an error traceback is rendered exactly
like a stderr stream (``.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]``,
no distinguishing class), and with the default ``contentVisibility`` windowing, off-screen cells
are not laid out; the model says reliably which outputs are errors and which cells ran.

Times are in milliseconds (Playwright's unit).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Generous: two busy cores roughly double every phase.
KERNEL_TIMEOUT_MS = 120_000
RUN_ALL_TIMEOUT_MS = 600_000
RENDER_TIMEOUT_MS = 90_000

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
IDLE_STATUS = re.compile(r"\(ipykernel\) \| Idle")
STDERR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'


def lessons_dir() -> Path:
    """The folder whose notebooks the browser tests open: ``lessons/``.

    ``SCALELAB_LESSONS_DIR`` overrides it, for developing the test machinery against a
    throwaway notebook only; CI never sets it.
    """
    return Path(os.environ.get("SCALELAB_LESSONS_DIR") or REPO_ROOT / "lessons")


def lesson_notebooks() -> list[Path]:
    """Every lesson notebook, sorted by name (lessons added later are picked up)."""
    return sorted(lessons_dir().glob("*.ipynb"))


def notebook_url(server, notebook_name: str) -> str:
    """URL that opens ``lessons/<notebook_name>`` in a fresh, empty JupyterLab workspace.

    A fresh workspace per page keeps tabs restored from an earlier test from stealing focus
    (the status bar would then report the other notebook's kernel).
    """
    path = notebook_name if "/" in notebook_name else f"lessons/{notebook_name}"
    workspace = f"t{time.monotonic_ns()}"
    return f"{server.url}/lab/workspaces/{workspace}/tree/{path}?token={server.token}"


# JavaScript run in the page. `PANEL` finds the open notebook by its path.
_PANEL = """
const expectsError = (cell) =>
  (cell.model.getMetadata('tags') || []).includes('raises-exception');
const findPanel = (path) => {
  const app = window.jupyterapp;
  if (!app) throw new Error('window.jupyterapp missing: start JupyterLab with '
                            + '--LabApp.expose_app_in_browser=True');
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content && w.content.model) return w;
  }
  return null;
};
"""

_ARM = (
    _PANEL
    + """
(path) => {
  const panel = findPanel(path);
  const ran = new Set();
  const cells = panel.content.widgets;
  cells.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    cell.model.stateChanged.connect((_, change) => {
      if (change.name === 'executionCount' && change.newValue !== null) ran.add(i);
    });
  });
  window.__scalelabRan = window.__scalelabRan || {};
  window.__scalelabRan[path] = ran;
  return cells.filter(c => c.model.type === 'code').length;
}
"""
)

_PROGRESS = (
    _PANEL
    + """
(path) => {
  const panel = findPanel(path);
  const ran = window.__scalelabRan[path];
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  let code = 0, pending = [], errors = 0;
  panel.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    code += 1;
    if (!ran.has(i)) pending.push(i);
    if (expectsError(cell)) return;
    const outs = cell.model.outputs;
    for (let j = 0; j < outs.length; j++) if (outs.get(j).type === 'error') errors += 1;
  });
  return {code, pending, errors, status: kernel ? kernel.status : 'no kernel'};
}
"""
)

_ERRORS = (
    _PANEL
    + """
(path) => {
  const panel = findPanel(path);
  const found = [];
  panel.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code' || expectsError(cell)) return;
    const outs = cell.model.outputs;
    for (let j = 0; j < outs.length; j++) {
      const o = outs.get(j).toJSON();
      if (o.output_type === 'error') {
        found.push({cell: i, ename: o.ename, evalue: o.evalue,
                    traceback: (o.traceback || []).join('\\n')});
      }
    }
  });
  return found;
}
"""
)


def _current_path(page) -> str:
    path = getattr(page, "_scalelab_notebook", None)
    if path is None:
        raise RuntimeError("call open_and_run_all(page, server, name) first")
    return path


def open_and_run_all(
    page, server, notebook_name: str, timeout_ms: int = RUN_ALL_TIMEOUT_MS
) -> None:
    """Open ``lessons/<notebook_name>`` in JupyterLab, click Run ▸ Run All Cells, wait for it.

    Returns once every code cell has executed in this run and the kernel is idle again.
    If a cell raises, JupyterLab stops the run there; this raises ``AssertionError`` with the
    traceback instead of waiting for cells that will never run.
    """
    from playwright.sync_api import expect

    path = notebook_name if "/" in notebook_name else f"lessons/{notebook_name}"
    page._scalelab_notebook = path
    page.goto(notebook_url(server, notebook_name))
    # Real kernel readiness is the status-bar text; the toolbar indicator says "idle" too early.
    expect(page.locator(".jp-StatusBar-TextItem", has_text=IDLE_STATUS)).to_be_visible(
        timeout=KERNEL_TIMEOUT_MS
    )
    expect(page.locator(".jp-Notification-Toast")).to_have_count(0)
    page.wait_for_function(
        _PANEL + "(path) => findPanel(path) !== null", arg=path, timeout=KERNEL_TIMEOUT_MS
    )
    n_code = page.evaluate(_ARM, path)

    page.locator(".lm-MenuBar-itemLabel").get_by_text("Run", exact=True).click()
    page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()

    deadline = time.monotonic() + timeout_ms / 1000
    idle_since = None
    while True:
        p = page.evaluate(_PROGRESS, path)
        idle = p["status"] == "idle"
        if idle and not p["pending"]:
            break
        # A failing cell stops "Run All": the rest never run. Report it once the kernel
        # has been idle for a moment (it flickers idle between cells).
        if idle and p["errors"]:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 3:
                raise AssertionError(
                    f"{path}: Run All stopped at an error; cells {p['pending']} never ran:\n"
                    + format_errors(error_outputs(page))
                )
        else:
            idle_since = None
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{path}: Run All did not finish in {timeout_ms / 1000:.0f} s "
                f"(kernel {p['status']}, {len(p['pending'])} of {n_code} code cells pending: "
                f"{p['pending']})"
            )
        page.wait_for_timeout(250)
    expect(page.locator(".jp-StatusBar-TextItem", has_text=IDLE_STATUS)).to_be_visible(
        timeout=KERNEL_TIMEOUT_MS
    )


def error_outputs(page) -> list[str]:
    """Text of every error (traceback) output in the notebook opened by `open_and_run_all`.

    Cells tagged ``raises-exception`` (an error the lesson shows on purpose; JupyterLab and
    nbval run on past them) are left out. Only real errors: a warning or
    ``print(..., file=sys.stderr)`` renders with the same selector (`STDERR_OUTPUT`) in
    JupyterLab 4.6 but is not an error; see `stderr_outputs`.
    """
    found = page.evaluate(_ERRORS, _current_path(page))
    return [
        f"cell {e['cell']}: {e['ename']}: {e['evalue']}\n{_ANSI.sub('', e['traceback'])}"
        for e in found
    ]


def stderr_outputs(page) -> list[str]:
    """Text of every output rendered as stderr: warnings, stderr prints and tracebacks."""
    return page.locator(STDERR_OUTPUT).all_inner_texts()


def format_errors(errors: list[str]) -> str:
    return "\n\n".join(errors) if errors else "(no error output)"


def run_and_reveal(page, server, notebook_name: str, control):
    """Open and run a lesson with no cell failing, then scroll ``control`` (a locator, such
    as the explorer's first slider) into view and wait until it shows; returns it."""
    from playwright.sync_api import expect

    open_and_run_all(page, server, notebook_name)
    errors = error_outputs(page)
    assert not errors, format_errors(errors)
    control.scroll_into_view_if_needed()
    expect(control).to_be_visible(timeout=90_000)
    return control


def widget_render_problems(page) -> list[str]:
    """Widget outputs that failed to render or never finished loading.

    ipywidgets 8 shows a failed view as ``.jupyter-widgets-error-widget`` ("Click to show
    javascript error."; the error itself goes to the console) and a missing model as the text
    "Error displaying widget…".
    """
    return page.evaluate("""() => {
      const found = [];
      document.querySelectorAll('.jp-OutputArea .jupyter-widgets-error-widget').forEach(
        () => found.push('widget view failed (ipywidgets error widget; see console errors)'));
      document.querySelectorAll('.jp-OutputArea-output').forEach(e => {
        const t = e.textContent.trim();
        if (t.startsWith('Error displaying widget') || t === 'Loading widget...') found.push(t);
      });
      return found;
    }""")


def plotly_outputs_expected(page) -> int:
    """How many outputs in the notebook model carry a plotly figure (``go.Figure`` shown)."""
    return page.evaluate(
        _PANEL
        + """
    (path) => {
      let n = 0;
      findPanel(path).content.widgets.forEach(cell => {
        if (cell.model.type !== 'code') return;
        const outs = cell.model.outputs;
        for (let j = 0; j < outs.length; j++)
          if ('application/vnd.plotly.v1+json' in (outs.get(j).data || {})) n += 1;
      });
      return n;
    }""",
        _current_path(page),
    )


def wait_for_outputs_to_settle(
    page, quiet_ms: int = 2_000, timeout_ms: int = RENDER_TIMEOUT_MS
) -> dict:
    """Wait until no widget says "Loading widget..." and the number of rendered controls and
    plots has not changed for `quiet_ms`. Returns the last counts."""
    probe = """() => ({
      sliders: document.querySelectorAll('.jp-OutputArea .widget-slider').length,
      dropdowns: document.querySelectorAll('.jp-OutputArea .widget-dropdown').length,
      plots: document.querySelectorAll('.jp-OutputArea .js-plotly-plot').length,
      loading: Array.from(document.querySelectorAll('.jp-OutputArea-output'))
                 .filter(e => e.textContent.trim() === 'Loading widget...').length,
    })"""
    deadline = time.monotonic() + timeout_ms / 1000
    last, since = None, time.monotonic()
    while True:
        now = page.evaluate(probe)
        if now != last:
            last, since = now, time.monotonic()
        elif not now["loading"] and time.monotonic() - since >= quiet_ms / 1000:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(
                f"outputs still changing or loading after {timeout_ms / 1000:.0f} s: {now}"
            )
        page.wait_for_timeout(250)


PLOT_IS_DRAWN = """(el) => !!(el._fullLayout && el.querySelector('svg.main-svg')
    && el.getBoundingClientRect().width > 50 && el.getBoundingClientRect().height > 50)"""

# What a reader needs from every figure, read from what plotly actually drew (``_fullLayout``
# holds each axis's computed ticks in ``_vals``): a title; on every axis a trace uses, a title
# (with its units) and at least three labelled ticks (category axes excepted: they label every
# category); no bar drawn on a log axis (a bar's length means nothing there).
FIGURE_PROBLEMS = """(el) => {
  const layout = el._fullLayout, data = el._fullData || [];
  if (!layout) return ['not drawn'];
  const problems = [];
  // plotly fills an unset title with a placeholder ("Click to enter Plot title") it never draws
  const placeholders = new Set(Object.values(layout._dfltTitle || {}));
  const text = (t) => {
    const s = ((t && t.text) || '').replace(/<[^>]*>/g, '').trim();
    return placeholders.has(s) ? '' : s;
  };
  if (!text(layout.title)) problems.push('no title');
  const axisName = (id) => id.charAt(0) + 'axis' + id.slice(1);
  const shown = data.filter(t => t.visible === true);
  const used = new Set();
  for (const t of shown) {
    if (t.xaxis) used.add(axisName(t.xaxis));
    if (t.yaxis) used.add(axisName(t.yaxis));
  }
  for (const name of used) {
    const axis = layout[name];
    if (!axis || axis.visible === false) continue;
    if (!text(axis.title)) problems.push(name + ': no title');
    if (axis.type !== 'category' && axis.showticklabels !== false) {
      const labels = (axis._vals || []).filter(v => !v.minor && String(v.text || '').trim() !== '');
      if (labels.length < 3) problems.push(name + ': ' + labels.length + ' labelled tick(s)' +
        (axis.type === 'log' ? ' on a log axis' : ''));
    }
  }
  for (const t of shown) {
    if (t.type !== 'bar') continue;
    const value = layout[axisName(t.orientation === 'h' ? t.xaxis : t.yaxis)];
    if (value && value.type === 'log') problems.push('bars "' + (t.name || '') + '" on a log axis');
  }
  return problems;
}"""


# Whether a trace read by ``script`` (a JavaScript function returning an array, nulls allowed)
# equals ``want`` within rounding.
SAME_TRACE = """([script, want]) => {
    const got = eval(script)();
    return got && got.length === want.length && got.every((v, i) =>
        (v === null && want[i] === null)
        || (v !== null && want[i] !== null
            && Math.abs(v - want[i]) < 1e-6 * Math.max(1, Math.abs(want[i]))));
}"""


def dropdown_redraws(page, server, notebook_name: str, read_trace: str, before: list,
                     option: str, after: list, readout: str) -> None:
    """Run the lesson, wait until its explorer shows ``before`` (the trace ``read_trace``
    reads), choose ``option`` in its first dropdown, and wait until it shows ``after`` and the
    readout text ``readout``; no error output on the way."""
    from playwright.sync_api import expect

    dropdown = run_and_reveal(page, server, notebook_name,
                              page.locator(".jp-OutputArea .widget-dropdown select").first)
    page.wait_for_function(SAME_TRACE, arg=[read_trace, before], timeout=90_000)
    dropdown.select_option(label=option)
    page.wait_for_function(SAME_TRACE, arg=[read_trace, after], timeout=30_000)
    assert before != after
    expect(page.get_by_text(readout)).to_be_visible()
    assert error_outputs(page) == []
