"""The flow view in JupyterLab in headless Chromium: it renders, playing advances its clock
and moves its dots, pausing stops them, the keyboard steps it, and after scrubbing to a time
the dots inside each instance's box are the requests the records have queued or in service
there at that time. The notebook is written into the server's folder by the test."""

import json

import nbformat
import numpy as np
import pytest
from browser import error_outputs, open_and_run_all, widget_render_problems

# Three instances behind round robin, the third at half speed (it builds a queue), the first
# crashing at 20 s under a health check: queues, failures and state changes in one window.
SETUP = """import scalelab as sl
res = sl.simulate(sl.workloads.poisson(rate=40, duration=40, seed=7),
                  instances=[sl.Instance(), sl.Instance(), sl.Instance(speed=0.5)],
                  service_time=0.05, seed=7, failures=[sl.Crash(instance=0, at=20.0)],
                  health_check=sl.HealthCheck(interval=2, unhealthy_threshold=2))"""
SHOW = "sl.widgets.flow(res, start=15, end=35)"
START = 15.0
VIEW = ".jp-OutputArea .scalelab-flow"


def run_of_the_notebook():
    scope = {}
    exec(SETUP, scope)
    return scope["res"]


def held_at(records, t):
    """Per instance, the requests queued or in service at absolute time ``t``: arrived by
    then and not yet ended (the simulator's own records)."""
    here = (records["arrival"] <= t) & (t < records["end"]) & (records["instance"] >= 0)
    return np.bincount(records["instance"][here], minlength=3).tolist()


def waiting_at(records, t):
    """Per instance, the requests queued (not yet in service) at absolute time ``t``."""
    here = ((records["arrival"] <= t) & (t < records["end"]) & (t < records["start"])
            & (records["instance"] >= 0))
    return np.bincount(records["instance"][here], minlength=3).tolist()


def quiet_times(records, low, high, count=10, seed=1):
    """``count`` random times in [low, high), each at least 2 ms from any arrival, start or
    end (so rounding cannot put a request on the wrong side of one)."""
    marks = np.sort(np.concatenate([records[f] for f in ("arrival", "start", "end")]))
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < count:
        t = float(rng.uniform(low, high))
        k = np.searchsorted(marks, t)
        if np.abs(marks[max(0, k - 1):k + 1] - t).min() > 0.002:
            found.append(t)
    return sorted(found)


@pytest.fixture
def flow_notebook(jupyter_server):
    folder = jupyter_server.root_dir / "flow"
    folder.mkdir(exist_ok=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP),
                                               nbformat.v4.new_code_cell(SHOW)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                       "language": "python"}
    nbformat.write(notebook, folder / "flow.ipynb")
    return "flow/flow.ipynb"


def state(page) -> dict:
    return page.evaluate("""(sel) => {
      const root = document.querySelector(sel);
      return {time: Number(root.dataset.time), playing: root.dataset.playing === 'true',
              inInstance: JSON.parse(root.dataset.inInstance),
              instances: JSON.parse(root.dataset.instances), t0: Number(root.dataset.t0),
              positions: root.flow.positions(), readout:
                root.querySelector('.sl-flow-readout').textContent};
    }""", VIEW)


@pytest.mark.browser
def test_the_flow_view_plays_pauses_steps_and_shows_what_the_records_imply(
        page, jupyter_server, flow_notebook):
    from playwright.sync_api import expect

    page.emulate_media(reduced_motion="reduce")  # so it must not start by itself
    open_and_run_all(page, jupyter_server, flow_notebook)
    assert error_outputs(page) == []
    view = page.locator(VIEW)
    expect(view.locator("canvas")).to_be_visible(timeout=90_000)
    assert widget_render_problems(page) == []

    first = state(page)
    assert first["playing"] is False and first["time"] == 0.0, "reduced motion: no autoplay"
    assert first["t0"] == START and first["instances"] == [0, 1, 2]
    page.wait_for_timeout(800)
    assert state(page)["time"] == 0.0

    play = view.locator(".sl-flow-play")
    play.click()
    page.wait_for_function(f"() => Number(document.querySelector('{VIEW}').dataset.time) > 1.0",
                           timeout=30_000)
    play.click()
    paused = state(page)
    assert paused["playing"] is False and paused["time"] > 1.0
    assert paused["positions"] != first["positions"], "playing should move the dots"
    page.wait_for_timeout(800)
    again = state(page)
    assert again["time"] == paused["time"] and again["positions"] == paused["positions"]

    view.focus()
    view.press("ArrowRight")
    stepped = state(page)
    assert stepped["time"] > paused["time"] and not stepped["playing"]
    records = run_of_the_notebook().requests
    absolute = START + paused["time"]
    marks = np.concatenate([records[f] for f in ("arrival", "start", "end")])
    following = marks[marks > absolute + 1e-9].min()
    assert stepped["time"] == pytest.approx(following - START, abs=1e-6)
    view.press("ArrowLeft")
    previous = marks[(marks < following - 1e-9) & (marks >= START)].max()
    assert state(page)["time"] == pytest.approx(previous - START, abs=1e-6)

    seen = np.zeros(3, dtype=int)
    for t in quiet_times(records, START, 35.0):
        view.locator(".sl-flow-scrub").fill(repr(t - START))
        shown = state(page)
        assert shown["time"] == pytest.approx(t - START, abs=1e-6)
        assert shown["inInstance"] == held_at(records, t), f"at {t:.4f} s"
        seen += held_at(records, t)
        queued = waiting_at(records, t)
        longest = int(np.argmax(queued))
        n = queued[longest]
        assert (f"{n} request{'s' if n != 1 else ''} queued at instance {longest}" if n
                else "no queue") in shown["readout"]

    assert (seen > 0).sum() >= 2, f"the times checked should find requests at 2+ instances: {seen}"
    assert page.console_errors == [], json.dumps(page.console_errors, indent=1)


@pytest.fixture(scope="module")
def saved_view():
    """The view as a page of its own (``FlowView.to_html``), autoplaying."""
    from scalelab.flow import FlowView

    return FlowView(run_of_the_notebook(), start=15, end=35).to_html(autoplay=True)


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_it_autoplays_once_on_screen_unless_reduced_motion_is_asked(browser, saved_view,
                                                                    motion):
    context = browser.new_context(viewport={"width": 1000, "height": 700}, reduced_motion=motion)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        # pushed below the fold: nothing plays until it is scrolled into view
        page.set_content(saved_view.replace('<div id="out">',
                                            '<div style="height:1500px"></div><div id="out">'))
        page.wait_for_function("() => window.flowReady === true")
        page.wait_for_timeout(600)
        root = page.locator(".scalelab-flow")
        assert root.get_attribute("data-playing") == "false"
        root.scroll_into_view_if_needed()
        page.wait_for_timeout(1200)
        if motion == "reduce":
            assert root.get_attribute("data-playing") == "false"
            assert float(root.get_attribute("data-time")) == 0.0
        else:
            assert root.get_attribute("data-playing") == "true"
            assert float(root.get_attribute("data-time")) > 0.3
        root.press(" ")  # the keyboard toggles playing
        assert root.get_attribute("data-playing") == ("true" if motion == "reduce" else "false")
        speed = float(root.get_attribute("data-speed"))
        root.press("+")
        assert float(root.get_attribute("data-speed")) == pytest.approx(speed * 1.5)
        assert errors == []
    finally:
        context.close()
