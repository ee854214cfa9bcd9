"""Lesson 06's part of ``plots``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import LAYOUT, MS, SCALING_LAYOUT, SERIES_COLOURS, WONG, log_axis

# -- lesson 06: load testing ----------------------------------------------------------------------
# Rates in requests per second. The API's latencies are shown in milliseconds; the photo
# service's (lesson 05's, about 1 s of work per request) in seconds, over time in minutes.

__all__ = [
    "coordinated_omission", "load_over_time", "load_over_time_traces", "load_test",
    "load_test_explorer", "load_test_explorer_traces", "load_test_traces", "retry_storm",
    "retry_storm_traces",
]


def _positive_span(*arrays) -> tuple[float, float]:
    """The smallest and largest finite values > 0 of ``arrays`` (for a log axis)."""
    values = np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in arrays])
    values = values[np.isfinite(values) & (values > 0)]
    return (float(values.min()), float(values.max())) if len(values) else (1.0, 10.0)


def _held(x: np.ndarray, y: np.ndarray, end: float) -> tuple[np.ndarray, np.ndarray]:
    """A step line's points with its last value held until ``end`` (line shape "hv")."""
    return np.append(x, end), np.append(y, y[-1] if len(y) else np.nan)


def load_test_traces(runs: dict, theory: dict | None = None, x: str = "offered") -> list[dict]:
    """x/y data of every trace of :func:`load_test`, in trace order: per run, achieved and p95
    (ms) against the offered (or ``x="sent"``: actually sent) rate; then theory's p95 curve
    (ms; left out without ``theory``)."""
    traces = []
    for columns in runs.values():
        traces.append({"x": columns[x], "y": columns["throughput"]})
        traces.append({"x": columns[x], "y": columns["p95"] * MS})
    if theory is not None:
        traces.append({"x": theory["curve_rate"], "y": theory["curve_p95"] * MS})
    return traces


def load_test(runs: dict, theory: dict | None = None, capacity: float | None = None,
              slo: float | None = None, x: str = "offered") -> go.Figure:
    """Left: achieved throughput against offered load (the plateau), with the ideal "achieved =
    offered" line and the ``capacity``. Right: p95 latency (ms, log scale) against offered load
    (the knee), with theory's curve and the ``slo`` (s). ``runs`` maps a name to
    ``scenarios.report_columns``; ``theory`` is ``scenarios.step_test``'s output. ``x="sent"``
    puts the rate actually sent on the x axis (short stages of random arrivals stray from
    the offered rate)."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("Achieved throughput: the plateau",
                                        "p95 latency: the knee"))
    top = max(float(np.max(c[x])) for c in runs.values()) * 1.05
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", name=f"achieved = {x}",
                             line={"color": WONG["black"], "dash": "dot", "width": 1}),
                  row=1, col=1)
    if capacity is not None:
        fig.add_trace(go.Scatter(x=[0, top], y=[capacity, capacity], mode="lines",
                                 name=f"capacity, {capacity:g}/s",
                                 line={"color": WONG["vermillion"], "dash": "dash", "width": 1}),
                      row=1, col=1)
    if slo is not None:
        fig.add_trace(go.Scatter(x=[0, top], y=[slo * MS, slo * MS], mode="lines",
                                 name=f"SLO, p95 ≤ {slo * MS:g} ms",
                                 line={"color": WONG["purple"], "dash": "dash", "width": 1}),
                      row=1, col=2)
    data = load_test_traces(runs, theory, x)
    for k, name in enumerate(runs):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        style = {"mode": "lines+markers", "line": {"color": colour}, "marker": {"size": 7},
                 "legendgroup": name}
        fig.add_trace(go.Scatter(x=data[2 * k]["x"], y=data[2 * k]["y"], name=name, **style),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=data[2 * k + 1]["x"], y=data[2 * k + 1]["y"], name=name,
                                 showlegend=False, **style), row=1, col=2)
    if theory is not None:
        fig.add_trace(go.Scatter(x=data[-1]["x"], y=data[-1]["y"], mode="lines",
                                 name="theory (a queue per instance)",
                                 line={"color": WONG["sky"], "width": 3}), row=1, col=2)
    for col in (1, 2):
        fig.update_xaxes(title_text=f"{x} (requests/s)", range=[0, top], row=1, col=col)
    fig.update_yaxes(title_text="achieved (requests/s)", rangemode="tozero", row=1, col=1)
    low, high = _positive_span(*(d["y"] for d in data[1::2]), [slo * MS if slo else np.nan])
    fig.update_yaxes(title_text="p95 latency (ms)", row=1, col=2, **log_axis(low, high))
    fig.update_layout(height=440, legend={"orientation": "h", "y": -0.2},
                      title="Throughput stops at the capacity; the p95 breaks well before it",
                      **LAYOUT)
    fig.update_layout(margin={**LAYOUT["margin"], "t": 90})
    return fig


def coordinated_omission(data: dict) -> go.Figure:
    """The stalled API (``scenarios.coordinated_omission``), first seconds of each run. Top:
    each request's latency (ms) at the time it was meant to be sent, open and closed loop.
    Bottom: requests sent per second. Shaded: the stalls."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.14,
                        row_heights=[0.62, 0.38],
                        subplot_titles=("Latency of each request, by when it was sent",
                                        "Requests sent per second"))
    names = {"open": "open loop: sends on schedule", "closed": "closed loop: one user waits"}
    colours = {"open": WONG["vermillion"], "closed": WONG["blue"]}
    for mode, series in data["series"].items():
        fig.add_trace(go.Scatter(x=series["send"], y=series["latency"] * MS, mode="markers",
                                 marker={"color": colours[mode], "size": 4,
                                         "symbol": "circle" if mode == "open" else "x"},
                                 name=names[mode], legendgroup=mode), row=1, col=1)
        width = series["bin_time"][1] - series["bin_time"][0]
        x, y = _held(series["bin_time"], series["sent_per_s"], series["bin_time"][-1] + width)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines",
                                 line={"color": colours[mode], "shape": "hv"},
                                 name=names[mode], legendgroup=mode, showlegend=False),
                      row=2, col=1)
    for start, end in data["pauses"]:
        for row in (1, 2):
            fig.add_vrect(x0=start, x1=end, fillcolor=WONG["black"], opacity=0.1, line_width=0,
                          row=row, col=1)
    fig.update_yaxes(title_text="latency (ms)", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="requests/s", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="time (s)", title_standoff=2, row=1, col=1)  # every axis titled
    fig.update_xaxes(title_text="time (s); shaded: the server is frozen", row=2, col=1)
    fig.update_layout(height=570, legend={"orientation": "h", "y": -0.15},
                      title="Open loop shows every freeze; the closed loop stops sending and "
                            "hides it", **LAYOUT)
    fig.update_layout(margin={**LAYOUT["margin"], "t": 90})
    return fig


_LOAD_ROWS = ("Offered and achieved (requests/s)", "p95 latency (s)", "Instances in service")


def load_over_time_traces(runs: dict) -> list[dict]:
    """x/y data of every trace of :func:`load_over_time`, in trace order (time in minutes):
    the offered rate of the first run, the SLO, then per run achieved, p95 (s), instances."""
    first = next(iter(runs.values()))
    span = np.array([0.0, first["duration"] / 60])
    traces = [{"x": first["offered_time"] / 60, "y": first["offered"]},
              {"x": span, "y": np.array([first["slo"], first["slo"]])}]
    for series in runs.values():
        minutes = series["time"] / 60
        x, y = _held(minutes, series["instances"], series["duration"] / 60)
        traces += [{"x": minutes, "y": series["achieved"]}, {"x": minutes, "y": series["p95"]},
                   {"x": x, "y": y}]
    return traces


def load_over_time(runs: dict, *, title: str) -> go.Figure:
    """Load tests over time, one colour per named ``scenarios.load_series``: the offered load
    and what was achieved, p95 latency against the SLO (log scale), instances in service. All
    runs must share one shape. ``title`` should state the figure's takeaway."""
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=_LOAD_ROWS, row_heights=[0.36, 0.36, 0.28])
    data = load_over_time_traces(runs)
    fig.add_trace(go.Scatter(x=data[0]["x"], y=data[0]["y"], mode="lines", name="offered",
                             line={"color": WONG["black"], "dash": "dot"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=data[1]["x"], y=data[1]["y"], mode="lines", name="SLO",
                             line={"color": WONG["vermillion"], "dash": "dash"}), row=2, col=1)
    for k, name in enumerate(runs):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        base = 2 + 3 * k
        for row, offset, shape in ((1, 0, "linear"), (2, 1, "linear"), (3, 2, "hv")):
            fig.add_trace(go.Scatter(x=data[base + offset]["x"], y=data[base + offset]["y"],
                                     mode="lines", name=name, legendgroup=name,
                                     showlegend=row == 1,
                                     line={"color": colour, "shape": shape}), row=row, col=1)
    latency = log_axis(*_positive_span(data[1]["y"], *(d["y"] for d in data[3::3])))
    most = max(float(np.nanmax(d["y"])) for d in data[4::3])
    return _rate_latency_instances_axes(fig, height=660, latency=latency, title=title,
                                        most_instances=most)


def load_test_explorer_traces(series: dict) -> list[dict]:
    """x/y data of every trace of :func:`load_test_explorer`, in trace order: offered,
    achieved, the breaking point (a cross; NaN if none), p95 (s), SLO, instances."""
    minutes = series["time"] / 60
    span = np.array([0.0, series["duration"] / 60])
    return [
        {"x": series["offered_time"] / 60, "y": series["offered"]},
        {"x": minutes, "y": series["achieved"]},
        {"x": np.array([series["broken_time"] / 60]), "y": np.array([series["breaking_point"]])},
        {"x": minutes, "y": series["p95"]},
        {"x": span, "y": np.array([series["slo"], series["slo"]])},
        dict(zip("xy", _held(minutes, series["instances"], series["duration"] / 60))),
    ]


def load_test_explorer(series: dict) -> go.Figure:
    """The load-test explorer (``scenarios.load_test_explorer``): offered and achieved load
    with the breaking point marked, p95 against the SLO, instances in service, over time."""
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=_LOAD_ROWS, row_heights=[0.36, 0.36, 0.28])
    styles = [
        (1, {"name": "offered", "mode": "lines", "line": {"color": WONG["black"], "dash": "dot"}}),
        (1, {"name": "achieved", "mode": "lines", "line": {"color": WONG["green"], "width": 3}}),
        (1, {"name": "breaking point", "mode": "markers",
             "marker": {"color": WONG["vermillion"], "size": 16, "symbol": "x"}}),
        (2, {"name": "p95 latency", "mode": "lines", "line": {"color": WONG["purple"]}}),
        (2, {"name": "SLO", "mode": "lines", "line": {"color": WONG["vermillion"],
                                                      "dash": "dash"}}),
        (3, {"name": "instances", "mode": "lines",
             "line": {"color": WONG["blue"], "shape": "hv"}}),
    ]
    for (row, style), data in zip(styles, load_test_explorer_traces(series)):
        fig.add_trace(go.Scatter(x=data["x"], y=data["y"], **style), row=row, col=1)
    return _rate_latency_instances_axes(  # fixed axes: the controls move the data
        fig, height=640, latency=log_axis(1.0, 1000.0), most_instances=12,
        title="The breaking point: the first stage whose p95 passes the SLO")


def _rate_latency_instances_axes(fig: go.Figure, height: int, latency: dict, title: str,
                                 most_instances: float) -> go.Figure:
    """The axes of a three-row figure over time: a rate from zero, latency on the log axis
    ``latency`` (``style.log_axis``), and an instance count from 0 to ``most_instances`` in
    steps of one or two (three labels at least)."""
    fig.update_yaxes(rangemode="tozero", title_text="requests/s", row=1, col=1)
    fig.update_yaxes(title_text="seconds", row=2, col=1, **latency)
    step = 1 if most_instances <= 4 else 2
    fig.update_yaxes(range=[0, max(most_instances, 2 * step) + 0.5], dtick=step,
                     title_text="instances", row=3, col=1)
    for row in (1, 2, 3):  # every axis titled, the shared ones too
        fig.update_xaxes(title_text="time (minutes)", title_standoff=2, row=row, col=1)
    fig.update_layout(height=height + 40, legend={"orientation": "h", "y": -0.1}, title=title,
                      **SCALING_LAYOUT)
    fig.update_layout(margin={**SCALING_LAYOUT["margin"], "t": 90})
    return fig


def retry_storm_traces(runs: dict) -> list[dict]:
    """x/y data of every trace of :func:`retry_storm`, in trace order: the offered rate of the
    first run, then per run its goodput (answers/s that reached a client in time)."""
    first = next(iter(runs.values()))
    return [{"x": first["time"], "y": first["offered"]}] + [
        {"x": run["time"], "y": run["goodput"]} for run in runs.values()]


def retry_storm(runs: dict) -> go.Figure:
    """Goodput over time after a short spike, one line per named ``scenarios.storm_timeline``
    (clients that do or do not resend after a timeout), with the offered load, the capacity
    and the spike shaded."""
    data = retry_storm_traces(runs)
    first = next(iter(runs.values()))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=data[0]["x"], y=data[0]["y"], mode="lines", name="offered",
                             line={"color": WONG["black"], "dash": "dot", "shape": "hv"}))
    for k, (name, trace) in enumerate(zip(runs, data[1:])):
        fig.add_trace(go.Scatter(x=trace["x"], y=trace["y"], mode="lines", name=name,
                                 line={"color": SERIES_COLOURS[k % len(SERIES_COLOURS)],
                                       "width": 3, "shape": "hv"}))
    end = first["duration"]
    fig.add_trace(go.Scatter(x=[0, end], y=[first["capacity"]] * 2, mode="lines",
                             name=f"capacity, {first['capacity']:g}/s",
                             line={"color": WONG["vermillion"], "dash": "dash", "width": 1}))
    fig.add_vrect(x0=first["spike"][0], x1=first["spike"][1], fillcolor=WONG["black"],
                  opacity=0.12, line_width=0)
    fig.update_xaxes(title_text="time (s); shaded: the 10-second spike", range=[0, end])
    fig.update_yaxes(title_text="goodput (answers in time per s)", rangemode="tozero")
    fig.update_layout(height=420, legend={"orientation": "h", "y": -0.25},
                      title="A 10-second spike: clients that retry keep the service down "
                            "after it ends", **LAYOUT)
    return fig
