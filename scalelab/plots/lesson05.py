"""Lesson 05's part of ``plots``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import SCALING_LAYOUT, SERIES_COLOURS, WONG, log_tick_marks

# -- lesson 05: autoscaling -----------------------------------------------------------------------
# Latencies here are in seconds (the lesson's requests need about 1 s of work each); the time
# axis is in minutes, or hours for runs longer than six hours.

_SCALING_ROWS = ("Traffic and timeouts (requests/s)", "Instances", "Utilization (%)",
                 "p95 latency of answered requests (s, log scale)")
_SCALING_Y = ("requests/s", "instances", "utilization", "p95 (s)")  # each row's axis title
_P95_TICKS = log_tick_marks(0.1, 100)   # seconds; the lesson's clients give up after 60 s

__all__ = [
    "autoscaling", "autoscaling_traces", "cost_vs_slo", "instances_over_time",
]


def _time_unit(series: dict) -> tuple[float, str]:
    return (3600.0, "hours") if series["duration"] > 6 * 3600 else (60.0, "minutes")


def autoscaling_traces(series: dict, thresholds=None) -> list[dict]:
    """x/y data of every trace of :func:`autoscaling`, in trace order: traffic, requests that
    failed or timed out (per second), instances paid for, instances in service, utilization,
    the two thresholds (NaN without ``thresholds``), p95 (s) and the SLO. ``series`` is
    ``scenarios.autoscaling_series`` (or the explorer's)."""
    unit, _ = _time_unit(series)
    x = series["time"] / unit
    span = np.array([0.0, series["duration"] / unit])
    if thresholds is None and "scale_out_above" in series:
        thresholds = (series["scale_out_above"], series["scale_in_below"])
    above, below = (np.nan, np.nan) if thresholds is None else thresholds
    return [
        {"x": x, "y": series["rate"]},
        {"x": x, "y": series["errors"]},
        {"x": x, "y": series["paid"]},
        {"x": x, "y": series["in_service"]},
        {"x": x, "y": series["utilization"]},
        {"x": span, "y": np.array([above, above], dtype=float)},
        {"x": span, "y": np.array([below, below], dtype=float)},
        {"x": x, "y": series["p95"]},
        {"x": span, "y": np.array([series["slo"], series["slo"]], dtype=float)},
    ]


_SCALING_TAKEAWAY = ("New instances arrive minutes after the traffic; until they do, "
                     "queues grow and requests time out")


def autoscaling(run, thresholds=None, bin: float | None = None, title: str = "") -> go.Figure:
    """Four rows over time for one autoscaled run: traffic; instances paid for (booting ones
    included, shaded) and in service; utilization with the scale-out and scale-in
    ``thresholds`` (optional); p95 latency (log scale) against the SLO. ``run`` is a
    ``Result`` (binned per ``bin`` s: 60, or 600 for runs longer than six hours) or
    ``scenarios.autoscaling_series``."""
    from .. import scenarios

    if not isinstance(run, dict):
        bin = bin or (600.0 if run.duration > 6 * 3600 else 60.0)
        run = scenarios.autoscaling_series(run, bin=bin)
    _, unit_name = _time_unit(run)
    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=_SCALING_ROWS)
    styles = [
        ({"name": "arrivals per second", "line": {"color": WONG["black"]}}, 1),
        ({"name": "timed out or failed per second",
          "line": {"color": WONG["vermillion"], "dash": "dash"}}, 1),
        ({"name": "instances paid for (incl. booting)", "fill": "tozeroy",
          "fillcolor": "rgba(230, 159, 0, 0.35)",
          "line": {"color": WONG["orange"], "width": 1, "shape": "hv"}}, 2),
        ({"name": "instances in service", "line": {"color": WONG["blue"], "shape": "hv"}}, 2),
        ({"name": "utilization", "line": {"color": WONG["green"]}}, 3),
        ({"name": "scale-out threshold", "line": {"color": WONG["vermillion"], "dash": "dot"}}, 3),
        ({"name": "scale-in threshold", "line": {"color": WONG["sky"], "dash": "dot"}}, 3),
        ({"name": "p95 latency", "line": {"color": WONG["purple"]}}, 4),
        ({"name": "SLO", "line": {"color": WONG["vermillion"], "dash": "dash"}}, 4),
    ]
    for (style, row), data in zip(styles, autoscaling_traces(run, thresholds)):
        fig.add_trace(go.Scatter(x=data["x"], y=data["y"], mode="lines", **style),
                      row=row, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=2, col=1)
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", row=3, col=1)
    # the whole 0.1-100 s decade range, so every run shows its labelled ticks
    fig.update_yaxes(type="log", **_P95_TICKS, range=[-1, 2], row=4, col=1)
    for row, name in enumerate(_SCALING_Y, start=1):
        fig.update_yaxes(title_text=name, row=row, col=1)
        fig.update_xaxes(title_text=f"time ({unit_name})", title_standoff=2, row=row, col=1)
    fig.update_layout(height=820, title=title or _SCALING_TAKEAWAY,
                      legend={"orientation": "h", "y": -0.12}, **SCALING_LAYOUT)
    fig.update_layout(margin={"t": 80})   # room for the title above the first row's title
    return fig


def instances_over_time(runs: dict, title: str = "") -> go.Figure:
    """Instances in service over time, one line per named ``scenarios.autoscaling_series``;
    ``title`` states the takeaway."""
    fig = go.Figure()
    for k, (name, series) in enumerate(runs.items()):
        unit, unit_name = _time_unit(series)
        fig.add_trace(go.Scatter(x=series["time"] / unit, y=series["in_service"], name=name,
                                 mode="lines", line={"shape": "hv", "color":
                                                     SERIES_COLOURS[k % len(SERIES_COLOURS)]}))
    fig.update_layout(xaxis_title=f"time ({unit_name})", yaxis_title="instances in service",
                      yaxis_rangemode="tozero", height=380,
                      title=title or "How many instances each policy ran, over time",
                      legend={"orientation": "h", "y": -0.25}, **SCALING_LAYOUT)
    return fig


def cost_vs_slo(rows: list[dict], title: str = "") -> go.Figure:
    """Each design as a point: instance-hours (cost) against the share of requests that missed
    the SLO (log scale); fixed-size clusters joined by a line, autoscalers as diamonds
    (rows from ``scenarios.cost_vs_slo``). A share of 0 is drawn at 0.001 %. ``title``
    states the takeaway."""
    def percent(row):
        return max(row["slow"] * 100, 1e-3)

    fig = go.Figure()
    for kind, style in (("fixed", {"mode": "lines+markers+text", "name": "fixed size",
                                   "line": {"color": WONG["blue"]},
                                   "marker": {"size": 9}, "textposition": "top right"}),
                        ("autoscaled", {"mode": "markers+text", "name": "autoscaled",
                                        "marker": {"color": WONG["orange"], "size": 13,
                                                   "symbol": "diamond"},
                                        "textposition": "bottom right"})):
        chosen = [r for r in rows if r["kind"] == kind]
        fig.add_trace(go.Scatter(x=[r["instance_hours"] for r in chosen],
                                 y=[percent(r) for r in chosen],
                                 text=[r["name"] for r in chosen], **style))
    shares = [percent(r) for r in rows]
    decades = (10.0 ** np.floor(np.log10(min(shares))), 10.0 ** np.ceil(np.log10(max(shares))))
    fig.update_yaxes(type="log", **log_tick_marks(*decades))
    fig.update_layout(xaxis_title="cost: instance-hours", height=460,
                      yaxis_title="requests missing the SLO (%, log scale)",
                      title=title or "Every design trades instance-hours against SLO misses",
                      legend={"x": 0.75, "y": 0.98}, **SCALING_LAYOUT)
    return fig


