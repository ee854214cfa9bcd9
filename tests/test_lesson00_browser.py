"""Lesson 00 in a real browser: moving the arrival-rate slider redraws the explorer with the
numbers the kernel computed for the new rate."""

import numpy as np
import pytest
from browser import error_outputs, open_and_run_all

from scalelab import plots, scenarios

EXPLORER_DATA = """
() => {
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const data = plot.data || [];
    const here = data.find(t => t.name === 'you are here');
    if (here) return {x: Array.from(here.x), y: Array.from(here.y)};
  }
  return null;
}
"""


@pytest.mark.browser
def test_rate_slider_moves_the_point_to_what_the_kernel_computed(page, jupyter_server):
    from playwright.sync_api import expect

    open_and_run_all(page, jupyter_server, "00-start-here.ipynb")
    assert error_outputs(page) == []
    slider = page.locator(".jp-OutputArea .widget-slider").first
    expect(slider).to_be_visible(timeout=90_000)
    page.wait_for_function(EXPLORER_DATA, timeout=90_000)
    before = page.evaluate(EXPLORER_DATA)

    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(3):
        handle.press("ArrowRight")
    expect(slider.locator(".widget-readout")).to_have_text("13", timeout=30_000)

    point = scenarios.one_server(13, 0.04, seed=0)
    want = (np.array([point["summary"]["mean"], point["summary"]["p95"]]) * plots.MS).tolist()
    page.wait_for_function(
        """([script, want]) => {
            const got = eval(script)();
            return got && got.y.length === want.length
                && got.y.every((v, i) => Math.abs(v - want[i]) < 1e-6 * Math.max(1, want[i]));
        }""",
        arg=[EXPLORER_DATA, want], timeout=30_000)
    assert not np.allclose(before["y"], want)
    expect(page.get_by_text("At 13 requests/s the server is 52% busy")).to_be_visible()
