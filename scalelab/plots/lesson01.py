"""Lesson 01's part of ``plots``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import LAYOUT, MS, SERIES_COLOURS, WONG, log_axis

# -- lesson 01: a bigger machine or more machines ------------------------------------------

__all__ = [
    "SIZE_VS_COUNT_LATENCY_RANGE_MS", "cost_curves", "crash_timelines", "pooling",
    "size_vs_count", "size_vs_count_ranges", "size_vs_count_traces", "speedup",
]



def cost_curves(curves: dict) -> go.Figure:
    """Dollars per hour against cores needed: one machine big enough (it stops at the largest
    size on sale) beside as many small machines as needed (from ``scenarios.cost_curves``)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=curves["cores"], y=curves["up_cost"], mode="lines",
                             line={"color": WONG["vermillion"], "shape": "hv", "width": 3},
                             name="one machine, big enough (scale up)"))
    fig.add_trace(go.Scatter(x=curves["cores"], y=curves["out_cost"], mode="lines",
                             line={"color": WONG["blue"], "shape": "hv", "width": 3},
                             name=f"machines of {curves['out_size']} cores (scale out)"))
    fig.add_vline(x=curves["ceiling"], line={"color": WONG["black"], "dash": "dot"},
                  annotation_text=f"largest machine: {curves['ceiling']} cores",
                  annotation_position="top left")
    fig.update_layout(title="Same price per core, but one machine comes only in doubling sizes "
                            "and stops at the largest",
                      xaxis_title="cores needed", yaxis_title="cost (dollars per hour)",
                      height=400, legend={"x": 0.01, "y": 0.99}, **LAYOUT)
    return fig


def speedup(curves: dict) -> go.Figure:
    """Speedup against cores: ideal, Amdahl's law for each parallel fraction, and the USL
    (from ``scenarios.speedup_curves``)."""
    n = curves["n"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=n, y=n, mode="lines", name="ideal: N cores, N× faster",
                             line={"color": WONG["black"], "dash": "dot"}))
    colours = [WONG[k] for k in ("sky", "blue", "green", "orange", "purple")]
    for colour, (p, values) in zip(colours, sorted(curves["amdahl"].items(), reverse=True)):
        fig.add_trace(go.Scatter(x=n, y=values, mode="lines", line={"color": colour},
                                 name=f"Amdahl, {p:.0%} parallel"))
    fig.add_trace(go.Scatter(x=n, y=curves["usl"], mode="lines",
                             line={"color": WONG["vermillion"], "width": 3, "dash": "dash"},
                             name=f"USL, α = {curves['alpha']:g}, β = {curves['beta']:g}"))
    fig.update_layout(title="A serial part caps the speedup; coherency costs make it fall",
                      xaxis_title="cores (or machines) N", yaxis_title="speedup (× one core)",
                      yaxis_range=[0, max(40.0, float(np.max(curves["usl"])) * 1.1)],
                      height=400, legend={"x": 0.01, "y": 0.99}, **LAYOUT)
    return fig


def pooling(curves: dict, runs: dict | None = None) -> go.Figure:
    """Mean and p99 latency against utilization for the designs of ``scenarios.pooling_curves``
    (lines: formulas), with the simulated points of ``scenarios.pooling`` (markers)."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("Mean latency", "p99 latency (1 request in 100 is slower)"))
    for k, design in enumerate(curves["designs"]):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        for col, key in ((1, "mean"), (2, "p99")):
            fig.add_trace(go.Scatter(x=curves["loads"], y=design[key] * MS, mode="lines",
                                     line={"color": colour}, name=design["name"],
                                     legendgroup=design["name"], showlegend=col == 1),
                          row=1, col=col)
    if runs is not None:
        for k, design in enumerate(runs["designs"]):
            colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
            for col, key in ((1, "mean"), (2, "p99")):
                fig.add_trace(go.Scatter(x=[runs["load"]], y=[design[key] * MS], mode="markers",
                                         marker={"color": colour, "size": 10, "symbol": "x"},
                                         name="simulated", legendgroup="simulated",
                                         showlegend=(k == 0 and col == 1)),
                              row=1, col=col)
    for col, key in ((1, "mean"), (2, "p99")):
        values = np.concatenate([d[key] for d in curves["designs"]]) * MS
        values = values[np.isfinite(values) & (values > 0)]
        fig.update_xaxes(title_text="utilization ρ (fraction busy)", range=[0, 1], row=1, col=col)
        fig.update_yaxes(title_text="latency (ms)", **log_axis(values.min(), values.max()),
                         row=1, col=col)
    fig.update_layout(title="One shared queue answers fastest, at every load and in the tail",
                      height=460, legend={"orientation": "h", "y": -0.2}, **LAYOUT)
    fig.update_layout(margin_t=90)  # room for the title above the panels' titles
    return fig


def crash_timelines(runs: dict, crash_at: float) -> go.Figure:
    """Failed requests per second (left) and p95 latency (right) over time, one line per design
    of ``scenarios.crash``; the shaded band runs from the crash until the crashed machine is
    back in rotation."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("Failed requests per second",
                                        "p95 latency of answered requests"))
    for k, (name, run) in enumerate(runs.items()):
        timeline = run["timeline"]
        width = float(timeline["time"][1] - timeline["time"][0]) if len(timeline["time"]) > 1 \
            else 1.0
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        dash = ("solid", "dash", "dot")[k % 3]
        fig.add_trace(go.Scatter(x=timeline["time"], y=timeline["errors"] / width, mode="lines",
                                 line={"color": colour, "dash": dash, "shape": "hv"}, name=name,
                                 legendgroup=name), row=1, col=1)
        fig.add_trace(go.Scatter(x=timeline["time"], y=timeline["p95"] * MS, mode="lines",
                                 line={"color": colour, "dash": dash}, name=name,
                                 legendgroup=name, showlegend=False), row=1, col=2)
    back = [r["marked_up"] for r in runs.values() if np.isfinite(r["marked_up"])]
    end = max(back) if back else max(float(r["timeline"]["time"][-1]) for r in runs.values())
    for col in (1, 2):
        fig.add_vrect(x0=crash_at, x1=end, fillcolor=WONG["black"], opacity=0.07, line_width=0,
                      row=1, col=col)
        fig.update_xaxes(title_text="time (s)", row=1, col=col)
    p95 = np.concatenate([r["timeline"]["p95"] for r in runs.values()]) * MS
    p95 = p95[np.isfinite(p95) & (p95 > 0)]
    fig.update_yaxes(title_text="failed requests per second", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="p95 latency (ms)", **log_axis(p95.min(), p95.max()),
                     row=1, col=2)
    fig.update_layout(title="One machine: an outage. Several: a few errors, then slow "
                            "unless there is a spare",
                      height=440, legend={"orientation": "h", "y": -0.2}, **LAYOUT)
    fig.update_layout(margin_t=90)  # room for the title above the panels' titles
    return fig


SIZE_VS_COUNT_LATENCY_RANGE_MS = (50.0, 20_000.0)


def size_vs_count_traces(option: dict) -> list[dict]:
    """x/y data of every trace of :func:`size_vs_count`, in trace order (latency in ms); a
    ``name`` too where the trace's name follows the setting."""
    o = option
    top_cost = max(float(o["fleet_cost"][-1]), float(o["price_cost"][-1])) * 1.05
    arr = np.array
    return [
        {"x": o["price_capacity"], "y": o["price_cost"]},
        {"x": o["fleet_capacity"], "y": o["fleet_cost"], "name": _fleet_name(o)},
        {"x": arr([o["traffic"], o["traffic"]]), "y": arr([0.0, top_cost])},
        {"x": arr([o["capacity"]]), "y": arr([o["cost_per_hour"]])},
        {"x": o["curve_rate"], "y": o["curve_mean"] * MS},
        {"x": o["curve_rate"], "y": o["curve_p99"] * MS},
        {"x": o["after_rate"], "y": o["after_mean"] * MS},
        {"x": o["after_rate"], "y": o["after_p99"] * MS},
        {"x": arr([o["traffic"], o["traffic"]]), "y": arr(SIZE_VS_COUNT_LATENCY_RANGE_MS)},
        {"x": o["time"], "y": np.full(len(o["time"]), o["traffic"])},
        {"x": o["time"], "y": o["answered"]},
        {"x": o["time"], "y": o["failed"]},
    ]


def size_vs_count_ranges(option: dict) -> dict:
    """Axis ranges that follow the setting: the latency panel spans the traffic and capacity."""
    right = 1.15 * max(option["capacity"], option["traffic"])
    return {"xaxis2": [0, right]}


def size_vs_count(option: dict) -> go.Figure:
    """The size-vs-count explorer (``scenarios.size_vs_count``). Top left: dollars per hour
    against capacity, one machine of each size beside 1–16 machines of the chosen size. Top
    right: latency against traffic with all machines up and with one crashed. Bottom: what a
    crash does over time."""
    fig = make_subplots(rows=2, cols=2, specs=[[{}, {}], [{"colspan": 2}, None]],
                        row_heights=[0.6, 0.4], horizontal_spacing=0.12, vertical_spacing=0.2,
                        subplot_titles=("Cost against capacity", "Latency against traffic",
                                        _crash_title(option)))
    line = "lines"
    styles = [
        (1, {"name": "one machine of each size", "mode": "lines+markers",
             "line": {"color": WONG["vermillion"]}}),
        (1, {"name": _fleet_name(option),
             "mode": "lines+markers", "marker": {"size": 5}, "line": {"color": WONG["blue"]}}),
        (1, {"name": "your traffic", "mode": line,
             "line": {"color": WONG["black"], "dash": "dot"}}),
        (1, {"name": "your choice", "mode": "markers",
             "marker": {"color": WONG["black"], "size": 14, "symbol": "x"}}),
        (2, {"name": "mean, all machines up", "mode": line, "line": {"color": WONG["blue"]}}),
        (2, {"name": "p99, all machines up", "mode": line,
             "line": {"color": WONG["blue"], "dash": "dash"}}),
        (2, {"name": "mean, one machine down", "mode": line,
             "line": {"color": WONG["orange"]}}),
        (2, {"name": "p99, one machine down", "mode": line,
             "line": {"color": WONG["orange"], "dash": "dash"}}),
        (2, {"name": "your traffic", "mode": line, "showlegend": False,
             "line": {"color": WONG["black"], "dash": "dot"}}),
        (3, {"name": "traffic", "mode": line,
             "line": {"color": WONG["black"], "dash": "dot"}}),
        (3, {"name": "answered", "mode": line,
             "line": {"color": WONG["green"], "width": 3}}),
        (3, {"name": "failed", "mode": line,
             "line": {"color": WONG["vermillion"], "width": 3}}),
    ]
    cells = {1: (1, 1), 2: (1, 2), 3: (2, 1)}
    for (panel, style), data in zip(styles, size_vs_count_traces(option)):
        legend = "legend" if panel == 1 else f"legend{panel}"
        row, col = cells[panel]
        fig.add_trace(go.Scatter(x=data["x"], y=data["y"], legend=legend, **style),
                      row=row, col=col)
    low, high = SIZE_VS_COUNT_LATENCY_RANGE_MS
    fig.update_xaxes(title_text="capacity (requests/s)", row=1, col=1)
    fig.update_yaxes(title_text="dollars per hour", rangemode="tozero", row=1, col=1)
    fig.update_xaxes(title_text="traffic (requests/s)",
                     range=size_vs_count_ranges(option)["xaxis2"], row=1, col=2)
    fig.update_yaxes(title_text="latency (ms)", **log_axis(low, high), row=1, col=2)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    fig.update_yaxes(title_text="requests/s", rangemode="tozero", row=2, col=1)
    inside = {"yanchor": "top", "y": 0.99, "xanchor": "left",
              "bgcolor": "rgba(255,255,255,0.8)", "font": {"size": 11}}
    fig.update_layout(title="Same capacity: one big machine answers faster, several survive a "
                            "crash",
                      height=760, legend={"x": 0.01, **inside}, legend2={"x": 0.57, **inside},
                      legend3={"orientation": "h", "x": 0.0, "y": -0.12, "yanchor": "top"},
                      **LAYOUT)
    fig.update_layout(margin_t=90)  # room for the title above the panels' titles
    return fig


def _crash_title(option: dict) -> str:
    back = option["recover_at"]
    return (f"Requests per second when machine 0 crashes at {option['crash_at']:g} s"
            + ("" if back is None else f" and restarts at {back:g} s"))


def _fleet_name(option: dict) -> str:
    size = option["size"]
    return f"1–{len(option['fleet_cost'])} machines of {size} core{'s' if size > 1 else ''}"


