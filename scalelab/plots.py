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


# -- lesson 05: load testing ----------------------------------------------------------------------
# Rates in requests per second. The API's latencies are shown in milliseconds; the photo
# service's (lesson 04's, about 1 s of work per request) in seconds, over time in minutes.


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
    fig.update_yaxes(title_text="p95 latency (ms)", type="log", dtick=1, row=1, col=2)
    fig.update_layout(height=420, legend={"orientation": "h", "y": -0.2}, **_LAYOUT)
    return fig


def coordinated_omission(data: dict) -> go.Figure:
    """The stalled API (``scenarios.coordinated_omission``), first seconds of each run. Top:
    each request's latency (ms) at the time it was meant to be sent, open and closed loop.
    Bottom: requests sent per second. Shaded: the stalls."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
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
    fig.update_xaxes(title_text="time (s); shaded: the server is frozen", row=2, col=1)
    fig.update_layout(height=520, legend={"orientation": "h", "y": -0.15}, **_LAYOUT)
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


def load_over_time(runs: dict) -> go.Figure:
    """Load tests over time, one colour per named ``scenarios.load_series``: the offered load
    and what was achieved, p95 latency against the SLO (log scale), instances in service. All
    runs must share one shape."""
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
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
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(type="log", dtick=1, row=2, col=1)
    fig.update_yaxes(rangemode="tozero", dtick=2, row=3, col=1)
    fig.update_xaxes(title_text="time (minutes)", row=3, col=1)
    fig.update_layout(height=640, legend={"orientation": "h", "y": -0.1}, **_SCALING_LAYOUT)
    return fig


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
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
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
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(type="log", dtick=1, row=2, col=1)
    fig.update_yaxes(rangemode="tozero", dtick=2, row=3, col=1)
    fig.update_xaxes(title_text="time (minutes)", row=3, col=1)
    fig.update_layout(height=620, legend={"orientation": "h", "y": -0.1}, **_SCALING_LAYOUT)
    return fig


# -- lesson 02: load balancers --------------------------------------------------------------
# Latencies in milliseconds (log scales: the tails span several decades), times in seconds.


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
                      legend={"orientation": "h", "y": -0.22}, **_LAYOUT)
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
                      **_LAYOUT)
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
                      **_LAYOUT)
    return fig


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
                      legend={"orientation": "h", "y": -0.25}, **_LAYOUT)
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
                      legend={"orientation": "h", "y": -0.12}, **_LAYOUT)
    return fig


# -- lesson 03: statelessness ---------------------------------------------------------------------

_STORY_OUTCOMES = (  # outcome → how its markers look (shape and colour: never colour alone)
    ("logs in", {"symbol": "diamond", "color": WONG["black"], "size": 13}),
    ("session found", {"symbol": "circle", "color": WONG["green"], "size": 14}),
    ("no session: logs in again", {"symbol": "x", "color": WONG["vermillion"], "size": 15}),
    ("failed", {"symbol": "square-open", "color": WONG["purple"], "size": 13}),
)
_USER_COLOURS = [WONG[k] for k in ("blue", "orange", "purple", "sky", "yellow")]


def session_story(rows: list[dict]) -> go.Figure:
    """Each request of a small run (rows of ``scenarios.session_story``) as a marker: time
    across, the instance that answered down; one line per user joins their requests, and the
    marker says whether that instance knew them."""
    fig = go.Figure()
    users = list(dict.fromkeys(row["user"] for row in rows))
    for k, user in enumerate(users):
        mine = [row for row in rows if row["user"] == user]
        fig.add_trace(go.Scatter(
            x=[row["time"] for row in mine], y=[row["instance"] for row in mine],
            mode="lines", name=user, line={"color": _USER_COLOURS[k % len(_USER_COLOURS)],
                                           "width": 2, "dash": ("solid", "dash", "dot")[k % 3]}))
    for outcome, marker in _STORY_OUTCOMES:
        chosen = [row for row in rows if row["outcome"] == outcome]
        if not chosen:
            continue
        fig.add_trace(go.Scatter(
            x=[row["time"] for row in chosen], y=[row["instance"] for row in chosen],
            mode="markers+text", name=outcome, marker=marker, textposition="top center",
            text=[f"{row['user']} {row['request']}" for row in chosen], cliponaxis=False))
    instances = sorted({row["instance"] for row in rows})
    fig.update_yaxes(title_text="answered by instance", categoryorder="array",
                     categoryarray=instances[::-1], range=[-0.6, len(instances) - 0.3])
    fig.update_xaxes(title_text="time (s)")
    fig.update_layout(height=330, legend={"orientation": "h", "y": -0.3}, **_LAYOUT)
    return fig


def lost_share_curve(curve: dict) -> go.Figure:
    """Share of follow-up requests that found no session against the number of instances:
    simulated (markers) beside (N − 1) / N (from ``scenarios.lost_share_curve``)."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=curve["instances"], y=curve["theory"] * 100, mode="lines",
                             name="(N − 1) / N", line={"color": WONG["black"], "dash": "dash"}))
    fig.add_trace(go.Scatter(x=curve["instances"], y=curve["simulated"] * 100, mode="markers",
                             name="simulated", marker={"color": WONG["vermillion"], "size": 11,
                                                       "symbol": "x"}))
    fig.update_layout(xaxis_title="instances N (round robin, sessions in memory)",
                      yaxis_title="follow-up requests that found no session (%)",
                      yaxis_range=[0, 100], xaxis_dtick=1, height=360,
                      legend={"x": 0.7, "y": 0.1}, **_LAYOUT)
    return fig


def sticky_cost(cost: dict) -> go.Figure:
    """How busy each instance was over time (% per bin), one panel per design of
    ``scenarios.sticky_cost``: lines close together mean an even load."""
    names = list(cost["designs"])
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=names)
    x = cost["time"] + cost["bin"] / 2
    for col, name in enumerate(names, 1):
        for j, instance in enumerate(cost["names"]):
            fig.add_trace(go.Scatter(
                x=x, y=cost["designs"][name]["busy"][j] * 100, mode="lines", name=instance,
                legendgroup=instance, showlegend=col == 1,
                line={"color": SERIES_COLOURS[j % len(SERIES_COLOURS)],
                      "dash": ("solid", "dash", "dot", "dashdot")[j % 4]}), row=1, col=col)
        fig.update_xaxes(title_text="time (s)", row=1, col=col)
    fig.update_yaxes(title_text=f"busy (% of each {cost['bin']:g} s)", range=[0, 105],
                     row=1, col=1)
    fig.update_layout(height=380, legend={"orientation": "h", "y": -0.25,
                                          "title": {"text": "instance "}}, **_LAYOUT)
    return fig


def disposable(runs: dict) -> go.Figure:
    """Lost sessions per bin while instances crash, are replaced, added and removed (from
    ``scenarios.disposable``): round robin with sessions in memory on top (its own scale), the
    other designs below; dotted lines mark the events."""
    names = list(runs["designs"])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        row_heights=[0.45, 0.55],
                        subplot_titles=(names[0], " and ".join(names[1:])))
    width = runs["bin"]
    for k, name in enumerate(names):
        fig.add_trace(go.Scatter(x=runs["time"], y=runs["designs"][name]["lost"], name=name,
                                 mode="lines", line={"shape": "hv", "width": 3,
                                                     "color": SERIES_COLOURS[k],
                                                     "dash": ("solid", "solid", "dash")[k % 3]}),
                      row=1 if k == 0 else 2, col=1)
    for k, (when, what) in enumerate(runs["events"]):
        for row in (1, 2):
            fig.add_vline(x=when, line={"color": WONG["black"], "dash": "dot", "width": 1},
                          row=row, col=1)
        fig.add_annotation(x=when, y=1.0, yref="paper", text=what, showarrow=False,
                           xanchor="left", yanchor="bottom", font={"size": 11},
                           yshift=30 if k % 2 else 14)
    fig.update_yaxes(title_text=f"lost per {width:g} s", rangemode="tozero", row=1, col=1)
    rest = max([float(np.max(runs["designs"][n]["lost"])) for n in names[1:]] + [1.0])
    fig.update_yaxes(title_text=f"lost per {width:g} s", range=[-0.04 * rest, rest * 1.1],
                     row=2, col=1)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    fig.update_layout(height=500, legend={"orientation": "h", "y": -0.18},
                      template="plotly_white", margin={"l": 60, "r": 20, "t": 100, "b": 50})
    return fig


def stateless_explorer_traces(data: dict) -> list[dict]:
    """x/y data of every trace of :func:`stateless_explorer`, in trace order (latency in ms);
    the crash lines are empty when nothing crashes."""
    time, lost, p95 = data["time"], data["lost"], data["p95"] * MS
    crashed = data["crash"]
    at = np.array([data["crash_at"]] * 2) if crashed else np.array([])

    def line(values, log=False):
        """A vertical line at the crash spanning ``values`` (from 0, or its lowest on a log axis)."""
        if not crashed:
            return np.array([])
        finite = values[np.isfinite(values)]
        finite = finite[finite > 0]
        top = float(finite.max()) * 1.05 if len(finite) else 1.0
        bottom = float(finite.min()) * 0.95 if log and len(finite) else 0.0
        return np.array([bottom, max(top, 1.0)])

    requests = np.asarray(data["requests"], dtype=float)
    names = np.array(data["names"])
    return [
        {"x": time, "y": lost},
        {"x": at, "y": line(lost)},
        {"x": time, "y": p95},
        {"x": at, "y": line(p95, log=True)},
        {"x": names, "y": requests},
        {"x": names, "y": np.full(len(names), requests.mean())},
    ]


def stateless_explorer(data: dict) -> go.Figure:
    """The statelessness explorer (``scenarios.stateless_explorer``): lost sessions and p95
    latency per 10 s over time, and the requests each instance served beside the mean."""
    fig = make_subplots(rows=1, cols=3, column_widths=[0.36, 0.36, 0.28],
                        horizontal_spacing=0.08,
                        subplot_titles=("Lost sessions per 10 s", "p95 latency per 10 s",
                                        "Requests per instance"))
    crash = {"color": WONG["black"], "dash": "dot", "width": 1.5}
    styles = [
        (1, {"name": "lost sessions", "mode": "lines", "fill": "tozeroy",
             "line": {"color": WONG["vermillion"], "shape": "hv"}}),
        (1, {"name": "crash", "mode": "lines", "line": crash}),
        (2, {"name": "p95 latency", "mode": "lines", "line": {"color": WONG["blue"]}}),
        (2, {"name": "crash", "mode": "lines", "line": crash, "showlegend": False}),
        (3, {"name": "requests served", "type": "bar", "marker": {"color": WONG["sky"]}}),
        (3, {"name": "mean", "mode": "lines", "line": {"color": WONG["black"], "dash": "dash"}}),
    ]
    for (col, style), data_xy in zip(styles, stateless_explorer_traces(data)):
        kind = go.Bar if style.pop("type", None) == "bar" else go.Scatter
        fig.add_trace(kind(x=data_xy["x"], y=data_xy["y"], **style), row=1, col=col)
    fig.update_xaxes(title_text="time (s)", row=1, col=1)
    fig.update_xaxes(title_text="time (s)", row=1, col=2)
    fig.update_xaxes(title_text="instance", row=1, col=3)
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="ms (log scale)", type="log", dtick=1, row=1, col=2)
    fig.update_yaxes(rangemode="tozero", row=1, col=3)
    fig.update_layout(height=380, legend={"orientation": "h", "y": -0.25}, **_LAYOUT)
    return fig
