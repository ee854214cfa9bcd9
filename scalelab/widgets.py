"""The lessons' explorers: controls wired to a pure compute function in ``scenarios`` and one
plotly ``FigureWidget`` that is built once and updated in place.

Each explorer returns an ``Explorer`` (an ipywidgets ``VBox``) whose ``controls`` and
``figure`` tests can drive without a browser.
"""

from __future__ import annotations

import html

import ipywidgets as W
import plotly.graph_objects as go

from . import plots, scenarios


class Explorer(W.VBox):
    """A column of controls, a figure and a one-line readout, updated on every change."""

    def __init__(self, controls: dict, figure: go.FigureWidget, readout: W.HTML, update):
        super().__init__([W.HBox(list(controls.values())), figure, readout])
        self.controls = controls
        self.figure = figure
        self.readout = readout
        self._update = update
        for control in controls.values():
            control.observe(self._changed, names="value")

    def _changed(self, _change=None) -> None:
        self._update(**{name: c.value for name, c in self.controls.items()})


def queue_explorer(rate: float = 10.0, service_time_ms: float = 40.0, seed: int = 0) -> Explorer:
    """One server as a queue: move the arrival rate and watch latency climb the hockey stick."""
    controls = {
        "rate": W.FloatSlider(value=rate, min=1, max=30, step=1, description="arrivals/s",
                              readout_format=".0f", continuous_update=False),
        "service_time_ms": W.FloatSlider(value=service_time_ms, min=10, max=80, step=5,
                                         description="service ms", readout_format=".0f",
                                         continuous_update=False),
    }
    state = {"service_time": service_time_ms / 1000, "stick": None}

    def compute(rate, service_time_ms):
        service_time = service_time_ms / 1000
        if state["stick"] is None or state["service_time"] != service_time:
            state["stick"] = scenarios.hockey_stick(service_time, seed=seed)
            state["service_time"] = service_time
        return state["stick"], scenarios.one_server(rate, service_time, seed=seed)

    stick, point = compute(rate, service_time_ms)
    figure = go.FigureWidget(plots.queue_explorer(stick, point))
    readout = W.HTML(_queue_readout(point))

    def update(rate, service_time_ms):
        stick, point = compute(rate, service_time_ms)
        with figure.batch_update():
            for trace, data in zip(figure.data, plots.queue_explorer_traces(stick, point)):
                trace.x, trace.y = data["x"], data["y"]
            figure.layout.yaxis.range = [0, float(stick["curve_p95"][-1] * plots.MS)]
        readout.value = _queue_readout(point)

    return Explorer(controls, figure, readout, update)


def _queue_readout(point: dict) -> str:
    s = point["summary"]
    busy = f"{point['load']:.0%} busy"
    theory = ("M/M/1 predicts a mean of "
              f"{point['theory_mean'] * 1000:.0f} ms" if point["load"] < 1
              else "M/M/1 has no steady state: the queue grows without end")
    text = (f"At {point['rate']:g} requests/s the server is {busy}: mean latency "
            f"{s['mean'] * 1000:.0f} ms, p95 {s['p95'] * 1000:.0f} ms over "
            f"{s['requests']} simulated requests; {theory}.")
    return f"<p style='font-size:110%'>{html.escape(text)}</p>"
