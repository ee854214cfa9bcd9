"""Lesson 02's part of ``plots``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import LAYOUT, MS, SERIES_COLOURS, WONG, log_axis

# -- lesson 02: load balancers --------------------------------------------------------------
# Latencies in milliseconds (log scales: the tails span several decades), times in seconds.

__all__ = [
    "EXPLORER_LATENCY_RANGE_MS", "balancer_explorer", "balancer_explorer_ranges",
    "balancer_explorer_title", "balancer_explorer_traces", "dispatch_curves", "policy_race",
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


def _p99_title(policies: dict) -> str:
    """The race's takeaway: the lowest and the highest p99, and which policies had them."""
    p99 = {name: run["summary"]["p99"] for name, run in policies.items()}
    best, worst = min(p99, key=p99.get), max(p99, key=p99.get)
    return (f"Lowest p99: {best} ({_duration(p99[best])}); highest: {worst} "
            f"({_duration(p99[worst])})")


def _duration(seconds: float) -> str:
    return f"{seconds * MS:,.0f} ms" if seconds < 1 else f"{seconds:,.1f} s"


def policy_race(race: dict) -> go.Figure:
    """Every policy of ``scenarios.policy_race`` on the same traffic. Left: median, p95 and p99
    latency (ms, log scale), one dot per policy and statistic. Right: the share of requests
    each instance received, beside its share of the capacity (black diamonds). The title names
    the policies with the lowest and the highest p99."""
    speeds = race["speeds"]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.1,
                        subplot_titles=("Latency (log scale)", "Share of the requests"))
    stats = ["p50", "p95", "p99"]
    names = {"p50": "median", "p95": "p95", "p99": "p99"}
    instances = [f"instance {i}<br>speed {s:g}" for i, s in enumerate(speeds)]
    symbols = ("circle", "square", "diamond", "cross", "x", "triangle-up", "star")
    values = []
    for k, (name, run) in enumerate(race["policies"].items()):
        colour = _policy_colour(name, k)
        y = [run["summary"][s] * MS for s in stats]
        values.extend(y)
        fig.add_trace(go.Scatter(x=[names[s] for s in stats], y=y, name=name, mode="markers",
                                 marker={"color": colour, "size": 11,
                                         "symbol": symbols[k % len(symbols)]},
                                 legendgroup=name), row=1, col=1)
        fig.add_trace(go.Bar(x=instances, y=run["share"], name=name, marker_color=colour,
                             legendgroup=name, showlegend=False), row=1, col=2)
    fig.add_trace(go.Scatter(x=instances, y=race["capacity_share"], mode="markers",
                             name="share of the capacity",
                             marker={"color": WONG["black"], "symbol": "diamond", "size": 12,
                                     "line": {"color": "white", "width": 1}}), row=1, col=2)
    finite = [v for v in values if np.isfinite(v) and v > 0] or [1.0]
    fig.update_yaxes(title_text="latency (ms)", **log_axis(min(finite), max(finite)),
                     row=1, col=1)
    fig.update_xaxes(title_text="statistic", row=1, col=1)
    fig.update_xaxes(title_text="instance", row=1, col=2)
    fig.update_yaxes(title_text="fraction of requests", tickformat=".0%", rangemode="tozero",
                     row=1, col=2)
    fig.update_layout(title=_p99_title(race["policies"]), height=440, barmode="group",
                      scattermode="group", bargap=0.2, legend={"orientation": "h", "y": -0.25},
                      **LAYOUT)
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
    fig.update_layout(title="Two random choices come close to least connections; one shared "
                            "queue is the floor",
                      xaxis_title="utilization ρ", yaxis_title="mean response time (× the work)",
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
    fig.update_yaxes(title_text="users")  # every panel: a reader may look at either alone
    ring, modulo = schemes.get("consistent hash"), schemes.get("hash mod N")
    title = (f"From {moves['before']} to {moves['after']} instances: hash mod N moves "
             f"{modulo['moved']:.0%} of users, a hash ring {ring['moved']:.0%}"
             if ring and modulo else "Users per instance after the change")
    fig.update_layout(title=title, height=400, barmode="stack",
                      legend={"orientation": "h", "y": -0.25}, **LAYOUT)
    return fig


EXPLORER_LATENCY_RANGE_MS = (10.0, 100_000.0)


def balancer_explorer_traces(run: dict) -> list[dict]:
    """x/y data of every trace of :func:`balancer_explorer`, in trace order: p50, p95, p99 (ms)
    of the chosen policy, round robin's p99 (ms), requests share per instance, share of the
    capacity. ``run`` is ``scenarios.balancer_explorer``'s output."""
    t = run["latency_time"]
    instances = np.array([f"instance {i}" for i in range(len(run["speeds"]))])
    return [
        {"x": t, "y": run["p50"] * MS},
        {"x": t, "y": run["p95"] * MS},
        {"x": t, "y": run["p99"] * MS},
        {"x": t, "y": run["baseline_p99"] * MS},
        {"x": instances, "y": run["share"]},
        {"x": instances, "y": run["capacity_share"]},
    ]


def balancer_explorer_ranges(run: dict) -> dict:
    """The share panel's range (``yaxis2``): it always shows its highest bar, and never
    shrinks below 40 %."""
    share = max(float(np.max(run["share"])), float(np.max(run["capacity_share"])))
    return {"yaxis2": [0.0, max(0.4, 1.15 * share)]}


def balancer_explorer_title(run: dict) -> str:
    """The explorer's takeaway: the chosen policy's p99 over the minute beside round robin's."""
    mine, theirs = run["summary"]["p99"], run["baseline_summary"]["p99"]
    if run["policy"] == "round robin":
        return f"Round robin: p99 {_duration(mine)} over the minute"
    return (f"{run['policy'][:1].upper()}{run['policy'][1:]}: p99 {_duration(mine)}, "
            f"against {_duration(theirs)} for round robin")


def balancer_explorer(run: dict) -> go.Figure:
    """The balancer explorer (``scenarios.balancer_explorer``). Left: latency over time of the
    chosen policy, with round robin's p99 on the same traffic (log scale, 10 ms to 100 s).
    Right: requests per instance against capacity. The title compares the two p99s."""
    bin = float(run["latency_time"][1] - run["latency_time"][0])
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.1,
                        subplot_titles=(f"Latency over time (per {bin:g} s)",
                                        "Share of the requests"))
    styles = [
        ((1, 1), go.Scatter, {"name": "median", "mode": "lines",
                              "line": {"color": WONG["sky"]}}),
        ((1, 1), go.Scatter, {"name": "p95", "mode": "lines", "line": {"color": WONG["blue"]}}),
        ((1, 1), go.Scatter, {"name": "p99", "mode": "lines",
                              "line": {"color": WONG["black"], "width": 3}}),
        ((1, 1), go.Scatter, {"name": "p99 of round robin", "mode": "lines",
                              "line": {"color": WONG["vermillion"], "dash": "dot"}}),
        ((1, 2), go.Bar, {"name": "share of the requests", "marker_color": WONG["blue"]}),
        ((1, 2), go.Scatter, {"name": "share of the capacity", "mode": "markers",
                              "marker": {"color": WONG["black"], "symbol": "diamond", "size": 12,
                                         "line": {"color": "white", "width": 1}}}),
    ]
    for ((row, col), kind, style), data in zip(styles, balancer_explorer_traces(run)):
        fig.add_trace(kind(x=data["x"], y=data["y"], **style), row=row, col=col)
    fig.update_xaxes(title_text="time (s)", row=1, col=1)
    fig.update_yaxes(title_text="latency (ms)", **log_axis(*EXPLORER_LATENCY_RANGE_MS),
                     row=1, col=1)
    fig.update_xaxes(title_text="instance", row=1, col=2)
    fig.update_yaxes(title_text="fraction of requests", tickformat=".0%",
                     range=balancer_explorer_ranges(run)["yaxis2"], row=1, col=2)
    fig.update_layout(title=balancer_explorer_title(run), height=460,
                      legend={"orientation": "h", "y": -0.2}, **LAYOUT)
    return fig
