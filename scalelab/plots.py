"""Figures for the lessons: functions that take numbers (from ``scenarios`` or a ``Result``)
and return plotly figures. The only module besides ``widgets`` that imports plotly.

Colours are the Wong palette, safe for colour-blind readers. Latencies are shown in
milliseconds, times in seconds.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

WONG = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
        "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7"}
MS = 1000.0  # seconds → milliseconds


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


SERIES_COLOURS = [WONG[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky",
                                    "yellow", "black")]


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


# -- lesson 01: a bigger machine or more machines ------------------------------------------

_LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}


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
    fig.update_layout(xaxis_title="cores needed", yaxis_title="dollars per hour",
                      height=380, legend={"x": 0.01, "y": 0.99}, **_LAYOUT)
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
    fig.update_layout(xaxis_title="cores (or machines) N", yaxis_title="speedup over one",
                      yaxis_range=[0, max(40.0, float(np.max(curves["usl"])) * 1.1)],
                      height=400, legend={"x": 0.01, "y": 0.99}, **_LAYOUT)
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
    for col in (1, 2):
        fig.update_xaxes(title_text="utilization ρ", range=[0, 1], row=1, col=col)
        fig.update_yaxes(title_text="latency (ms)", type="log", row=1, col=col)
    fig.update_layout(height=420, legend={"orientation": "h", "y": -0.2}, **_LAYOUT)
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
    fig.update_yaxes(title_text="requests/s", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="latency (ms)", type="log", row=1, col=2)
    fig.update_layout(height=400, legend={"orientation": "h", "y": -0.2}, **_LAYOUT)
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
    fig.update_yaxes(title_text="latency (ms)", type="log", range=[np.log10(low), np.log10(high)],
                     row=1, col=2)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    fig.update_yaxes(title_text="requests/s", rangemode="tozero", row=2, col=1)
    inside = {"yanchor": "top", "y": 0.99, "xanchor": "left",
              "bgcolor": "rgba(255,255,255,0.8)", "font": {"size": 11}}
    fig.update_layout(height=720, legend={"x": 0.01, **inside}, legend2={"x": 0.57, **inside},
                      legend3={"orientation": "h", "x": 0.0, "y": -0.12, "yanchor": "top"},
                      **_LAYOUT)
    return fig


def _crash_title(option: dict) -> str:
    back = option["recover_at"]
    return (f"Requests per second when machine 0 crashes at {option['crash_at']:g} s"
            + ("" if back is None else f" and restarts at {back:g} s"))


def _fleet_name(option: dict) -> str:
    size = option["size"]
    return f"1–{len(option['fleet_cost'])} machines of {size} core{'s' if size > 1 else ''}"


# -- lesson 04: autoscaling -----------------------------------------------------------------------
# Latencies here are in seconds (the lesson's requests need about 1 s of work each); the time
# axis is in minutes, or hours for runs longer than six hours.

_SCALING_LAYOUT = {"template": "plotly_white", "margin": {"l": 70, "r": 20, "t": 40, "b": 50}}
_SCALING_ROWS = ("Traffic (requests/s)", "Instances", "Utilization", "p95 latency (s)")


def _time_unit(series: dict) -> tuple[float, str]:
    return (3600.0, "hours") if series["duration"] > 6 * 3600 else (60.0, "minutes")


def autoscaling_traces(series: dict, thresholds=None) -> list[dict]:
    """x/y data of every trace of :func:`autoscaling`, in trace order: traffic, instances paid
    for, instances in service, utilization, the two thresholds (NaN without ``thresholds``),
    p95 (s) and the SLO. ``series`` is ``scenarios.autoscaling_series`` (or the explorer's)."""
    unit, _ = _time_unit(series)
    x = series["time"] / unit
    span = np.array([0.0, series["duration"] / unit])
    if thresholds is None and "scale_out_above" in series:
        thresholds = (series["scale_out_above"], series["scale_in_below"])
    above, below = (np.nan, np.nan) if thresholds is None else thresholds
    return [
        {"x": x, "y": series["rate"]},
        {"x": x, "y": series["paid"]},
        {"x": x, "y": series["in_service"]},
        {"x": x, "y": series["utilization"]},
        {"x": span, "y": np.array([above, above], dtype=float)},
        {"x": span, "y": np.array([below, below], dtype=float)},
        {"x": x, "y": series["p95"]},
        {"x": span, "y": np.array([series["slo"], series["slo"]], dtype=float)},
    ]


def autoscaling(run, thresholds=None, bin: float | None = None, title: str = "") -> go.Figure:
    """Four rows over time for one autoscaled run: traffic; instances paid for (booting ones
    included, shaded) and in service; utilization with the scale-out and scale-in
    ``thresholds`` (optional); p95 latency (log scale) against the SLO. ``run`` is a
    ``Result`` (binned per ``bin`` s: 60, or 600 for runs longer than six hours) or
    ``scenarios.autoscaling_series``."""
    from . import scenarios

    if not isinstance(run, dict):
        bin = bin or (600.0 if run.duration > 6 * 3600 else 60.0)
        run = scenarios.autoscaling_series(run, bin=bin)
    _, unit_name = _time_unit(run)
    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.05,
                        subplot_titles=_SCALING_ROWS)
    styles = [
        ({"name": "arrivals per second", "line": {"color": WONG["black"]}}, 1),
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
    fig.update_yaxes(range=[0, 1.05], row=3, col=1)
    fig.update_yaxes(type="log", dtick=1, row=4, col=1)
    fig.update_xaxes(title_text=f"time ({unit_name})", row=4, col=1)
    fig.update_layout(height=720, title=title or None,
                      legend={"orientation": "h", "y": -0.12}, **_SCALING_LAYOUT)
    return fig


def instances_over_time(runs: dict) -> go.Figure:
    """Instances in service over time, one line per named ``scenarios.autoscaling_series``."""
    fig = go.Figure()
    for k, (name, series) in enumerate(runs.items()):
        unit, unit_name = _time_unit(series)
        fig.add_trace(go.Scatter(x=series["time"] / unit, y=series["in_service"], name=name,
                                 mode="lines", line={"shape": "hv", "color":
                                                     SERIES_COLOURS[k % len(SERIES_COLOURS)]}))
    fig.update_layout(xaxis_title=f"time ({unit_name})", yaxis_title="instances in service",
                      yaxis_rangemode="tozero", height=360,
                      legend={"orientation": "h", "y": -0.25}, **_SCALING_LAYOUT)
    return fig


def cost_vs_slo(rows: list[dict]) -> go.Figure:
    """Each design as a point: instance-hours (cost) against the share of requests that missed
    the SLO (log scale); fixed-size clusters joined by a line, autoscalers as diamonds
    (rows from ``scenarios.cost_vs_slo``). A share of 0 is drawn at 0.001 %."""
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
    fig.update_layout(xaxis_title="cost: instance-hours", yaxis_type="log", yaxis_dtick=1,
                      yaxis_title="requests missing the SLO (%)", height=440,
                      legend={"x": 0.75, "y": 0.98}, **_SCALING_LAYOUT)
    return fig
