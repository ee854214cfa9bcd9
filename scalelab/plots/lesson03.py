"""Lesson 03's figures: instances that fail, and what clients see meanwhile. Times in
seconds, latencies in milliseconds."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .lesson02 import _POLICY_COLOURS, _lb_held
from .style import LAYOUT, MS, SERIES_COLOURS, WONG, log_axis

__all__ = ["FAILURE_EXPLORER_LATENCY_RANGE_MS", "failure_explorer", "failure_explorer_ranges",
           "failure_explorer_shapes", "failure_explorer_title", "failure_explorer_traces",
           "outages"]


def _run_colour(name: str, k: int) -> str:
    """A policy's colour when ``name`` starts with a policy's name ("round robin, 1 retry")."""
    for policy in sorted(_POLICY_COLOURS, key=len, reverse=True):
        if name.startswith(policy):
            return _POLICY_COLOURS[policy]
    return SERIES_COLOURS[k % len(SERIES_COLOURS)]


def _outages_title(runs: dict) -> str:
    """The figure's takeaway: which run failed the most requests, and which the fewest."""
    errors = {name: run["errors"] for name, run in runs.items()}
    most, fewest = max(errors, key=errors.get), min(errors, key=errors.get)
    if len(errors) == 1 or errors[most] == errors[fewest]:
        return f"{errors[most]} failed requests" + ("" if len(errors) == 1 else " in each run")
    return (f"Most failed requests: {most} ({errors[most]}); fewest: {fewest} "
            f"({errors[fewest]})")


def outages(runs: dict) -> go.Figure:
    """Failed requests per second over time, one line per named ``scenarios.outage`` (coloured
    by the policy its name starts with). Shaded: from the first failure until the last run's
    health check marked the instance down. The time axis spans the failure and what follows;
    the title names the runs with the most and the fewest failed requests."""
    fig = go.Figure()
    top = max([float(np.max(r["errors_per_s"])) for r in runs.values()] + [1.0])
    ends = []
    for k, (name, run) in enumerate(runs.items()):
        end = run["time"][-1] + (run["time"][1] - run["time"][0] if len(run["time"]) > 1 else 1)
        ends.append(float(end))
        x, y = _lb_held(run["time"], run["errors_per_s"], end)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name,
                                 line={"color": _run_colour(name, k), "shape": "hv",
                                       "dash": ("solid", "dash", "dot", "dashdot")[k % 4],
                                       "width": 2.5}))
    windows = [(r["failed_at"], r["marked_down"]) for r in runs.values()
               if np.isfinite(r["failed_at"]) and np.isfinite(r["marked_down"])]
    if windows:
        fig.add_vrect(x0=min(w[0] for w in windows), x1=max(w[1] for w in windows),
                      fillcolor=WONG["vermillion"], opacity=0.12, line_width=0, layer="below",
                      annotation_text="failed, still in rotation",
                      annotation_position="top left")
    start = min((r["failed_at"] for r in runs.values() if np.isfinite(r["failed_at"])),
                default=0.0)
    detection = max((r["detection"] for r in runs.values() if np.isfinite(r["detection"])),
                    default=1.0)
    span = [max(0.0, start - 2 * detection), min(max(ends), start + 4 * detection)]
    fig.update_layout(title=_outages_title(runs), xaxis_title="time (s)",
                      yaxis_title="failed requests per second",
                      xaxis_range=span, yaxis_range=[0, top * 1.15], height=380,
                      legend={"orientation": "h", "y": -0.25}, **LAYOUT)
    return fig


# -- the explorer ----------------------------------------------------------------------------

FAILURE_EXPLORER_LATENCY_RANGE_MS = (10.0, 100_000.0)


def failure_explorer_traces(run: dict) -> list[dict]:
    """x/y data of every trace of :func:`failure_explorer`, in trace order: failed requests
    per second, healthy instances (as the balancer sees them), p99 latency (ms)."""
    bin = float(run["time"][1] - run["time"][0]) if len(run["time"]) > 1 else 1.0
    end = run["time"][-1] + bin
    errors_x, errors_y = _lb_held(run["time"], run["errors_per_s"], end)
    healthy_x, healthy_y = _lb_held(run["time"], run["healthy"].astype(float), end)
    return [{"x": errors_x, "y": errors_y}, {"x": healthy_x, "y": healthy_y},
            {"x": run["latency_time"], "y": run["p99"] * MS}]


def failure_explorer_shapes(run: dict) -> list[dict]:
    """The shaded windows of the top panel: failed but still in rotation (failure → marked
    down, or → its end if never marked down), and out of rotation (marked down → its end)."""
    o = run["settings"]
    down = run["marked_down"] if np.isfinite(run["marked_down"]) else o["until"]
    base = {"type": "rect", "xref": "x", "yref": "y domain", "y0": 0, "y1": 1,
            "line": {"width": 0}, "layer": "below"}
    shapes = [{**base, "x0": o["at"], "x1": min(down, o["until"]),
               "fillcolor": WONG["vermillion"], "opacity": 0.18}]
    if down < o["until"]:
        shapes.append({**base, "x0": down, "x1": o["until"], "fillcolor": WONG["black"],
                       "opacity": 0.07})
    return shapes


def failure_explorer_ranges(run: dict) -> dict:
    """The failures axis (``yaxis``) always shows its highest point, and never less than 5/s."""
    return {"yaxis": [0.0, max(5.0, 1.15 * float(np.max(run["errors_per_s"])))]}


def failure_explorer_title(run: dict) -> str:
    """The explorer's takeaway: how many requests failed while the instance was failing, and
    when the balancer took it out."""
    o = run["settings"]
    share = run["failed_during"] / max(1, run["sent_during"])
    out = (f"out of rotation {run['detection']:g} s after it failed"
           if np.isfinite(run["detection"]) else "never taken out of rotation")
    return (f"{o['kind'].capitalize()}, {o['policy']}: {share:.0%} of requests failed while it "
            f"was failing; {out}")


def failure_explorer(run: dict) -> go.Figure:
    """The failure explorer (``scenarios.failure_explorer``). Top: failed requests per second
    and the instances the balancer considers healthy; shaded red while the failed instance is
    still in rotation, grey while it is out. Bottom: p99 latency per 2 s (log scale)."""
    fig = make_subplots(rows=2, cols=1, row_heights=[0.55, 0.45], vertical_spacing=0.14,
                        specs=[[{"secondary_y": True}], [{}]],
                        subplot_titles=("Failed requests and healthy instances",
                                        "p99 latency (log scale)"))
    traces = failure_explorer_traces(run)
    fig.add_trace(go.Scatter(**traces[0], name="failed requests per second", mode="lines",
                             fill="tozeroy", fillcolor="rgba(213, 94, 0, 0.3)",
                             line={"color": WONG["vermillion"], "shape": "hv"}),
                  row=1, col=1, secondary_y=False)
    fig.add_trace(go.Scatter(**traces[1], name="healthy instances", mode="lines",
                             line={"color": WONG["green"], "shape": "hv", "width": 3}),
                  row=1, col=1, secondary_y=True)
    fig.add_trace(go.Scatter(**traces[2], name="p99", mode="lines+markers",
                             line={"color": WONG["black"]}), row=2, col=1)
    span = [0.0, float(traces[0]["x"][-1])]
    fig.update_xaxes(title_text="time (s)", range=span, row=1, col=1)
    fig.update_xaxes(title_text="time (s)", range=span, row=2, col=1)
    fig.update_yaxes(title_text="failed per second", range=failure_explorer_ranges(run)["yaxis"],
                     row=1, col=1, secondary_y=False)
    fig.update_yaxes(title_text="healthy instances", range=[0, 4.5], dtick=1, showgrid=False,
                     row=1, col=1, secondary_y=True)
    fig.update_yaxes(title_text="p99 (ms)", **log_axis(*FAILURE_EXPLORER_LATENCY_RANGE_MS),
                     row=2, col=1)
    fig.update_layout(title=failure_explorer_title(run), height=620,
                      shapes=failure_explorer_shapes(run),
                      legend={"orientation": "h", "y": -0.12}, **LAYOUT)
    return fig
