"""Lesson 05 in a real browser: Run All works, and moving the explorer's window slider redraws
the instance count with the numbers the kernel computed for the new setting."""

import numpy as np
import pytest
from browser import error_outputs, open_and_run_all

from scalelab import plots, scenarios

# The explorer's figure: the lesson's static figures have traces of the same name, but only
# the explorer bins its hour in 30 s (120 points).
IN_SERVICE = """
() => {
  let found = null;
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const trace = (plot.data || []).find(t => t.name === 'instances in service');
    if (trace && trace.y && trace.y.length === 120) found = Array.from(trace.y);
  }
  return found;
}
"""
SAME = """([script, want]) => {
    const got = eval(script)();
    return got && got.length === want.length
        && got.every((v, i) => Math.abs(v - want[i]) < 1e-9);
}"""


@pytest.mark.browser
def test_window_slider_redraws_the_explorer_with_what_the_kernel_computed(page, jupyter_server):
    from playwright.sync_api import expect

    open_and_run_all(page, jupyter_server, "05-autoscaling.ipynb")
    assert error_outputs(page) == []
    sliders = page.locator(".jp-OutputArea .widget-slider")
    window = sliders.filter(has_text="for (s)").first
    window.scroll_into_view_if_needed()
    expect(window).to_be_visible(timeout=90_000)
    start = plots.autoscaling_traces(scenarios.autoscaling_explorer())[3]["y"].tolist()
    page.wait_for_function(SAME, arg=[IN_SERVICE, start], timeout=90_000)

    handle = window.locator(".noUi-handle").first
    handle.focus()
    for _ in range(16):   # 300 s → 60 s in steps of 15 s
        handle.press("ArrowLeft")
    expect(window.locator(".widget-readout")).to_have_text("60", timeout=30_000)

    series = scenarios.autoscaling_explorer(duration=60)
    want = plots.autoscaling_traces(series)[3]["y"].tolist()
    page.wait_for_function(SAME, arg=[IN_SERVICE, want], timeout=60_000)
    assert not np.allclose(start, want)
    expect(page.get_by_text(f"Cost {series['instance_hours']:.2f} instance-hours")).to_be_visible()
