"""Lesson 02's part of ``plots``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import LAYOUT, MS, SERIES_COLOURS, WONG

# -- lesson 02: load balancers --------------------------------------------------------------
# Latencies in milliseconds (log scales: the tails span several decades), times in seconds.

__all__ = [
    "EXPLORER_LATENCY_RANGE_MS", "balancer_explorer", "balancer_explorer_ranges",
    "balancer_explorer_shapes", "balancer_explorer_traces", "dispatch_curves", "policy_race",
    "rehash",
]


def _lb_held(x: np.ndarray, y: np.ndarray, end: float) -> tuple[np.ndarray, np.ndarray]:
    """A step line's points (shape "hv") with its last value held until ``end``."""
    return np.append(x, end), np.append(y, y[-1] if len(y) else np.nan)

_POLICY_COLOURS = {"round robin": WONG["vermillion"], "weighted round robin": WONG["orange"],
                   "random": WONG["purple"], "least connections": WONG["blue"],
                   "power of two choices": WONG["green"], "peak EWMA": WONG["sky"],
                   "one shared queue": WONG["black"]}


def _policy_colour(name: str, k: int) -> str:
    return _POLICY_COLOURS.get(name, SERIES_COLOURS[k % len(SERIES_COLOURS)])


def policy_race(race: dict) -> go.Figure:
    """Every policy of ``scenarios.policy_race`` on the same traffic. Left: median, p95 and p99
    latency (ms, log scale), one bar per policy. Right: the share of requests each instance
    received, beside its share of the capacity (black diamonds)."""
    speeds = race["speeds"]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.1,
                        subplot_titles=("Latency (log scale)", "Share of the requests"))
    stats = ["p50", "p95", "p99"]
    names = {"p50": "median", "p95": "p95", "p99": "p99"}
    instances = [f"instance {i}<br>speed {s:g}" for i, s in enumerate(speeds)]
    for k, (name, run) in enumerate(race["policies"].items()):
        colour = _policy_colour(name, k)
        fig.add_trace(go.Bar(x=[names[s] for s in stats],
                             y=[run["summary"][s] * MS for s in stats], name=name,
                             marker_color=colour, legendgroup=name), row=1, col=1)
        fig.add_trace(go.Bar(x=instances, y=run["share"], name=name, marker_color=colour,
                             legendgroup=name, showlegend=False), row=1, col=2)
    fig.add_trace(go.Scatter(x=instances, y=race["capacity_share"], mode="markers",
                             name="share of the capacity",
                             marker={"color": WONG["black"], "symbol": "diamond", "size": 12,
                                     "line": {"color": "white", "width": 1}}), row=1, col=2)
    fig.update_yaxes(title_text="latency (ms)", type="log", dtick=1, row=1, col=1)
    fig.update_yaxes(title_text="fraction of requests", tickformat=".0%", rangemode="tozero",
                     row=1, col=2)
    fig.update_layout(height=420, barmode="group", bargap=0.2,
                      legend={"orientation": "h", "y": -0.22}, **LAYOUT)
    return fig


def dispatch_curves(curves: dict) -> go.Figure:
    """Mean response time (in units of the mean work) against utilization for
    ``scenarios.dispatch_curves``: the closed forms as lines, the simulation as markers."""
    fig = go.Figure()
    labels = {"random": "random (M/M/1)",
              "round robin": f"round robin (E{curves['instances']}/M/1)",
              "power of two choices": "power of two choices (very many instances)",
              "one shared queue": f"one shared queue (M/M/{curves['instances']}): the best "
                                  "possible"}
    for k, (name, values) in enumerate(curves["theory"].items()):
        dash = "dot" if name == "one shared queue" else "solid"
        fig.add_trace(go.Scatter(x=curves["curve_load"], y=values, mode="lines",
                                 name=labels.get(name, name), legendgroup=name,
                                 line={"color": _policy_colour(name, k), "dash": dash}))
    for k, (name, values) in enumerate(curves["simulated"].items()):
        fig.add_trace(go.Scatter(x=curves["loads"], y=values, mode="markers",
                                 name=f"{name}, simulated ({curves['instances']} instances)",
                                 legendgroup=name,
                                 marker={"color": _policy_colour(name, k), "size": 10,
                                         "symbol": "x" if name != "least connections"
                                         else "diamond"}))
    fig.update_layout(xaxis_title="utilization ρ", yaxis_title="mean response time (× the work)",
                      xaxis_range=[0.28, 0.97], yaxis_range=[0, 11], height=440,
                      legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(255,255,255,0.8)"},
                      **LAYOUT)
    return fig


def rehash(moves: dict) -> go.Figure:
    """Users per instance after going from ``before`` to ``after`` instances
    (``scenarios.rehash``): those who stayed where they were, and those who moved there."""
    schemes = moves["schemes"]
    fig = make_subplots(rows=1, cols=len(schemes), shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=[f"{name}: {s['moved']:.0%} of users moved"
                                        for name, s in schemes.items()])
    x = np.arange(moves["after"])
    for col, scheme in enumerate(schemes.values(), start=1):
        fig.add_trace(go.Bar(x=x, y=scheme["stayed"], name="stayed on their instance",
                             marker_color=WONG["blue"], legendgroup="stayed",
                             showlegend=col == 1), row=1, col=col)
        fig.add_trace(go.Bar(x=x, y=scheme["arrived"], name="moved here from another instance",
                             marker_color=WONG["vermillion"], legendgroup="moved",
                             showlegend=col == 1), row=1, col=col)
        fig.update_xaxes(title_text=f"instance (the new one is {moves['after'] - 1})",
                         tickmode="linear", row=1, col=col)
    fig.update_yaxes(title_text="users", row=1, col=1)
    fig.update_layout(height=380, barmode="stack", legend={"orientation": "h", "y": -0.25},
                      **LAYOUT)
    return fig


EXPLORER_LATENCY_RANGE_MS = (10.0, 100_000.0)


def balancer_explorer_traces(run: dict) -> list[dict]:
    """x/y data of every trace of :func:`balancer_explorer`, in trace order: p50, p95, p99 (ms)
    of the chosen policy, round robin's p99 (ms), requests share per instance, share of the
    capacity, failed requests per second, healthy instances. ``run`` is
    ``scenarios.balancer_explorer``'s output."""
    t = run["latency_time"]
    instances = np.array([f"instance {i}" for i in range(len(run["speeds"]))])
    bin = float(run["time"][1] - run["time"][0]) if len(run["time"]) > 1 else 1.0
    errors_x, errors_y = _lb_held(run["time"], run["errors_per_s"], run["time"][-1] + bin)
    healthy_x, healthy_y = _lb_held(run["time"], run["healthy"].astype(float),
                                 run["time"][-1] + bin)
    return [
        {"x": t, "y": run["p50"] * MS},
        {"x": t, "y": run["p95"] * MS},
        {"x": t, "y": run["p99"] * MS},
        {"x": t, "y": run["baseline_p99"] * MS},
        {"x": instances, "y": run["share"]},
        {"x": instances, "y": run["capacity_share"]},
        {"x": errors_x, "y": errors_y},
        {"x": healthy_x, "y": healthy_y},
    ]


def balancer_explorer_shapes(run: dict) -> list[dict]:
    """The shaded windows of the bottom panel: dead but in rotation (crash → marked down), and
    out of rotation (marked down → marked up)."""
    end = float(run["time"][-1] + (run["time"][1] - run["time"][0]))
    down = run["marked_down"] if np.isfinite(run["marked_down"]) else end
    up = run["marked_up"] if np.isfinite(run["marked_up"]) else end
    base = {"type": "rect", "xref": "x3", "yref": "y3 domain", "y0": 0, "y1": 1,
            "line": {"width": 0}, "layer": "below"}
    return [{**base, "x0": run["crash"], "x1": down, "fillcolor": WONG["vermillion"],
             "opacity": 0.18},
            {**base, "x0": down, "x1": up, "fillcolor": WONG["black"], "opacity": 0.07}]


def balancer_explorer_ranges(run: dict) -> dict:
    """Axis ranges that follow the setting: the share panel (``yaxis2``) and the failures
    (``yaxis3``) always show their highest bar, and never shrink below 40 % and 5/s."""
    share = max(float(np.max(run["share"])), float(np.max(run["capacity_share"])))
    return {"yaxis2": [0.0, max(0.4, 1.15 * share)],
            "yaxis3": [0.0, max(5.0, 1.15 * float(np.max(run["errors_per_s"])))]}


def balancer_explorer(run: dict) -> go.Figure:
    """The balancer explorer (``scenarios.balancer_explorer``). Top left: latency over time of
    the chosen policy, with round robin's p99 on the same traffic. Top right: requests per
    instance against capacity. Bottom: the crash — failed requests per second and the
    instances the balancer considers healthy; shaded red while the dead instance is still in
    rotation, grey while it is out."""
    bin = float(run["latency_time"][1] - run["latency_time"][0])
    fig = make_subplots(rows=2, cols=2, column_widths=[0.62, 0.38], row_heights=[0.58, 0.42],
                        specs=[[{}, {}], [{"colspan": 2, "secondary_y": True}, None]],
                        horizontal_spacing=0.1, vertical_spacing=0.16,
                        subplot_titles=(f"Latency over time (per {bin:g} s)",
                                        "Share of the requests",
                                        "Instance 0 crashes: failed requests, healthy instances"))
    styles = [
        ((1, 1, False), go.Scatter, {"name": "median", "mode": "lines",
                                     "line": {"color": WONG["sky"]}}),
        ((1, 1, False), go.Scatter, {"name": "p95", "mode": "lines",
                                     "line": {"color": WONG["blue"]}}),
        ((1, 1, False), go.Scatter, {"name": "p99", "mode": "lines",
                                     "line": {"color": WONG["black"], "width": 3}}),
        ((1, 1, False), go.Scatter, {"name": "p99 of round robin", "mode": "lines",
                                     "line": {"color": WONG["vermillion"], "dash": "dot"}}),
        ((1, 2, False), go.Bar, {"name": "share of the requests",
                                 "marker_color": WONG["blue"]}),
        ((1, 2, False), go.Scatter, {"name": "share of the capacity", "mode": "markers",
                                     "marker": {"color": WONG["black"], "symbol": "diamond",
                                                "size": 12,
                                                "line": {"color": "white", "width": 1}}}),
        ((2, 1, False), go.Scatter, {"name": "failed requests per second", "mode": "lines",
                                     "fill": "tozeroy", "fillcolor": "rgba(213, 94, 0, 0.3)",
                                     "line": {"color": WONG["vermillion"], "shape": "hv"}}),
        ((2, 1, True), go.Scatter, {"name": "healthy instances", "mode": "lines",
                                    "line": {"color": WONG["green"], "shape": "hv",
                                             "width": 3}}),
    ]
    for ((row, col, secondary), kind, style), data in zip(styles,
                                                          balancer_explorer_traces(run)):
        fig.add_trace(kind(x=data["x"], y=data["y"], **style), row=row, col=col,
                      secondary_y=secondary if row == 2 else None)
    low, high = EXPLORER_LATENCY_RANGE_MS
    fig.update_xaxes(title_text="time (s)", row=1, col=1)
    fig.update_yaxes(title_text="latency (ms)", type="log",
                     range=[np.log10(low), np.log10(high)], row=1, col=1)
    ranges = balancer_explorer_ranges(run)
    fig.update_yaxes(tickformat=".0%", range=ranges["yaxis2"], row=1, col=2)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    fig.update_yaxes(title_text="failed per second", range=ranges["yaxis3"], row=2, col=1,
                     secondary_y=False)
    fig.update_yaxes(title_text="healthy", range=[0, len(run["speeds"]) + 0.5], dtick=1,
                     showgrid=False, row=2, col=1, secondary_y=True)
    fig.update_layout(height=680, shapes=balancer_explorer_shapes(run),
                      legend={"orientation": "h", "y": -0.12}, **LAYOUT)
    return fig


