"""Lesson 03's figures: instances that fail, and what clients see meanwhile."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .lesson02 import _POLICY_COLOURS, _lb_held
from .style import LAYOUT, SERIES_COLOURS, WONG

__all__ = ["outages"]


def _run_colour(name: str, k: int) -> str:
    """A policy's colour when ``name`` starts with a policy's name ("round robin, 1 retry")."""
    for policy in sorted(_POLICY_COLOURS, key=len, reverse=True):
        if name.startswith(policy):
            return _POLICY_COLOURS[policy]
    return SERIES_COLOURS[k % len(SERIES_COLOURS)]


def outages(runs: dict) -> go.Figure:
    """Failed requests per second over time, one line per named ``scenarios.outage`` (coloured
    by the policy its name starts with). Shaded: from the first crash until the last run's
    health check marked the instance down. The time axis spans the crash and what follows."""
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
    windows = [(r["crash"], r["marked_down"]) for r in runs.values()
               if np.isfinite(r["crash"]) and np.isfinite(r["marked_down"])]
    if windows:
        fig.add_vrect(x0=min(w[0] for w in windows), x1=max(w[1] for w in windows),
                      fillcolor=WONG["vermillion"], opacity=0.12, line_width=0, layer="below",
                      annotation_text="dead, still in rotation", annotation_position="top left")
    crash = min((r["crash"] for r in runs.values() if np.isfinite(r["crash"])), default=0.0)
    detection = max((r["detection"] for r in runs.values() if np.isfinite(r["detection"])),
                    default=1.0)
    span = [max(0.0, crash - 2 * detection), min(max(ends), crash + 4 * detection)]
    fig.update_layout(xaxis_title="time (s)", yaxis_title="failed requests per second",
                      xaxis_range=span, yaxis_range=[0, top * 1.15], height=360,
                      legend={"orientation": "h", "y": -0.25}, **LAYOUT)
    return fig
