"""Lesson 00's part of ``plots``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import MS, SERIES_COLOURS, WONG

__all__ = [
    "latency_over_time", "queue_explorer", "queue_explorer_top", "queue_explorer_traces",
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
    fig.update_layout(height=420, margin=dict(l=60, r=20, t=50, b=50),
                      legend=dict(orientation="h", y=-0.2), template="plotly_white")
    return fig




def latency_over_time(runs: dict, bin: float = 5.0, percentile: str = "p95") -> go.Figure:
    """One line per named ``Result``: the ``percentile`` latency (ms) in each ``bin`` seconds."""
    fig = go.Figure()
    for k, (name, result) in enumerate(runs.items()):
        timeline = result.timeline(bin=bin)
        fig.add_trace(go.Scatter(x=timeline["time"], y=timeline[percentile] * MS, name=name,
                                 mode="lines",
                                 line=dict(color=SERIES_COLOURS[k % len(SERIES_COLOURS)])))
    fig.update_layout(xaxis_title="time (s)", yaxis_title=f"{percentile} latency (ms)",
                      yaxis_type="log", height=380, template="plotly_white",
                      margin=dict(l=60, r=20, t=30, b=50))
    return fig


