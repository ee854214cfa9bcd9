"""Lesson 00's part of ``plots``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import LAYOUT, MS, SERIES_COLOURS, WONG, log_axis

__all__ = [
    "latency_over_time", "queue_explorer", "queue_explorer_top", "queue_explorer_traces",
    "work_variability",
]


def queue_explorer_traces(stick: dict, point: dict) -> list[dict]:
    """x/y data of every trace of :func:`queue_explorer`, in trace order (ms on y)."""
    timeline = point["timeline"]
    summary = point["summary"]
    return [
        {"x": stick["curve_load"], "y": stick["curve_mean"] * MS},
        {"x": stick["curve_load"], "y": stick["curve_p95"] * MS},
        {"x": stick["loads"], "y": stick["mean"] * MS},
        {"x": stick["loads"], "y": stick["p95"] * MS},
        {"x": np.array([point["load"], point["load"]]),
         "y": np.array([summary["mean"], summary["p95"]]) * MS},
        {"x": timeline["time"], "y": timeline["p95"] * MS},
        {"x": timeline["time"], "y": timeline["p50"] * MS},
    ]


def queue_explorer_top(stick: dict) -> float:
    """Top of the hockey-stick panel (ms): 30 service times, where the curve is already a wall."""
    return float(30 * stick["curve_mean"][0] * MS)


def queue_explorer(stick: dict, point: dict) -> go.Figure:
    """Left: latency against utilization, simulated points over the M/M/1 curves (the hockey
    stick), with the current setting marked. Right: latency over time at the current setting."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.1,
                        subplot_titles=("Latency vs how busy the server is",
                                        "Latency over time at this rate"))
    styles = [
        dict(name="theory: mean (M/M/1)", mode="lines", line=dict(color=WONG["blue"])),
        dict(name="theory: p95", mode="lines", line=dict(color=WONG["orange"], dash="dash")),
        dict(name="simulated mean", mode="markers", marker=dict(color=WONG["blue"], size=7)),
        dict(name="simulated p95", mode="markers",
             marker=dict(color=WONG["orange"], size=7, symbol="diamond")),
        dict(name="you are here", mode="markers",
             marker=dict(color=WONG["vermillion"], size=14, symbol="x")),
        dict(name="p95 per 5 s", mode="lines", line=dict(color=WONG["orange"]), xaxis="x2"),
        dict(name="median per 5 s", mode="lines", line=dict(color=WONG["blue"])),
    ]
    for k, (style, data) in enumerate(zip(styles, queue_explorer_traces(stick, point))):
        style.pop("xaxis", None)
        fig.add_trace(go.Scatter(x=data["x"], y=data["y"], **style), row=1, col=1 if k < 5 else 2)
    top = queue_explorer_top(stick)
    fig.update_xaxes(title_text="utilization ρ (fraction of time busy)", range=[0, 1.25],
                     row=1, col=1)
    fig.update_yaxes(title_text="latency (ms)", range=[0, top], row=1, col=1)
    fig.update_xaxes(title_text="time (s)", row=1, col=2)
    fig.update_yaxes(title_text="latency (ms)", rangemode="tozero", row=1, col=2)
    fig.update_layout(height=460, margin=dict(l=60, r=20, t=90, b=50),
                      title="Latency climbs a hockey stick long before the server is 100 % busy",
                      legend=dict(orientation="h", y=-0.2), template="plotly_white")
    return fig


def latency_over_time(runs: dict, bin: float = 5.0, percentile: str = "p95",
                      title: str | None = None) -> go.Figure:
    """One line per named ``Result``: the ``percentile`` latency (ms) in each ``bin`` seconds,
    on a log axis labelled at 1–2–5; ``title`` should say what the figure shows."""
    fig = go.Figure()
    values = []
    for k, (name, result) in enumerate(runs.items()):
        timeline = result.timeline(bin=bin)
        y = timeline[percentile] * MS
        values.append(y[np.isfinite(y) & (y > 0)])
        fig.add_trace(go.Scatter(x=timeline["time"], y=y, name=name, mode="lines",
                                 line=dict(color=SERIES_COLOURS[k % len(SERIES_COLOURS)])))
    values = np.concatenate(values) if values else np.array([])
    low, high = (values.min(), values.max()) if len(values) else (1.0, 1000.0)
    fig.update_layout(xaxis_title="time (s)", yaxis_title=f"{percentile} latency (ms)",
                      yaxis=log_axis(low, high), height=400,
                      title=title or f"{percentile} latency in each {bin:g} s window", **LAYOUT)
    return fig


def work_variability(data: dict) -> go.Figure:
    """Mean wait in the queue (ms) against utilization for the kinds of work of
    ``scenarios.work_variability``: Kingman's formula as lines, the simulation as markers."""
    fig = go.Figure()
    for k, kind in enumerate(data["kinds"]):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        fig.add_trace(go.Scatter(x=data["curve_load"], y=kind["curve_wait"] * MS, mode="lines",
                                 line={"color": colour}, name=f"{kind['name']}: formula"))
        marker = {"color": colour, "size": 11, "symbol": ("x", "circle")[k % 2]}
        fig.add_trace(go.Scatter(x=data["loads"], y=kind["wait"] * MS, mode="markers",
                                 marker=marker, name=f"{kind['name']}: simulated"))
    fig.update_layout(title="Work that always takes the same time waits half as long",
                      xaxis={"title": "utilization ρ (fraction of time busy)", "range": [0, 1],
                             "dtick": 0.2},
                      yaxis={"title": "mean wait in the queue (ms)", "rangemode": "tozero"},
                      height=420, legend={"x": 0.01, "y": 0.99}, **LAYOUT)
    return fig


