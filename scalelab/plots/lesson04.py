"""Lesson 04's part of ``plots``."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import LAYOUT, MS, SERIES_COLOURS, WONG

# -- lesson 04: statelessness ---------------------------------------------------------------------

_STORY_OUTCOMES = (  # outcome → how its markers look (shape and colour: never colour alone)
    ("logs in", {"symbol": "diamond", "color": WONG["black"], "size": 13}),
    ("session found", {"symbol": "circle", "color": WONG["green"], "size": 14}),
    ("no session: logs in again", {"symbol": "x", "color": WONG["vermillion"], "size": 15}),
    ("failed", {"symbol": "square-open", "color": WONG["purple"], "size": 13}),
)
_USER_COLOURS = [WONG[k] for k in ("blue", "orange", "purple", "sky", "yellow")]

__all__ = [
    "disposable", "lost_share_curve", "session_story", "stateless_explorer",
    "stateless_explorer_traces", "sticky_cost",
]


def session_story(rows: list[dict]) -> go.Figure:
    """Each request of a small run (rows of ``scenarios.session_story``) as a marker: time
    across, the instance that answered down; one line per user joins their requests, and the
    marker says whether that instance knew them. The title counts the follow-ups that found
    no session."""
    fig = go.Figure()
    follow_ups = [row for row in rows if row["request"] > 1]
    lost = sum(row["outcome"] == _STORY_OUTCOMES[2][0] for row in follow_ups)
    title = (f"{lost} of {len(follow_ups)} follow-up requests reached an instance without "
             "the user's session" if lost else "Every follow-up request found its session")
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
    fig.update_layout(height=350, title=title, legend={"orientation": "h", "y": -0.3}, **LAYOUT)
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
                      yaxis_range=[0, 100], xaxis_dtick=1, height=380,
                      title="More instances lose more sessions: the share follows (N − 1)/N",
                      legend={"x": 0.7, "y": 0.1}, **LAYOUT)
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
    fig.update_yaxes(title_text=f"busy (% of each {cost['bin']:g} s)", range=[0, 105])
    fig.update_layout(height=400, legend={"orientation": "h", "y": -0.25,
                                          "title": {"text": "instance "}},
                      title="Sticky sessions pin heavy users: some instances run hot, "
                            "others idle", **LAYOUT)
    fig.update_layout(margin={"t": 90})   # room for the title above the panel titles
    return fig


def disposable(runs: dict) -> go.Figure:
    """Lost sessions per bin while instances crash, are replaced, added and removed (from
    ``scenarios.disposable``): round robin with sessions in memory on top (its own scale), the
    other designs below; dotted lines mark the events."""
    names = list(runs["designs"])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.17,
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
    fig.update_xaxes(title_text="time (s)")  # both panels: the rule that every axis says what it is
    fig.update_layout(height=560, legend={"orientation": "h", "y": -0.18},
                      title={"text": "Only the shared store loses no session when instances "
                                     "come and go", "y": 0.98},
                      template="plotly_white", margin={"l": 60, "r": 20, "t": 130, "b": 50})
    return fig


def stateless_explorer_traces(data: dict) -> list[dict]:
    """x/y data of every trace of :func:`stateless_explorer`, in trace order (latency in ms);
    the crash lines are empty when nothing crashes."""
    time, lost, p95 = data["time"], data["lost"], data["p95"] * MS
    crashed = data["crash"]
    at = np.array([data["crash_at"]] * 2) if crashed else np.array([])

    def line(values):
        """A vertical line at the crash from 0 to the top of ``values``."""
        if not crashed:
            return np.array([])
        finite = values[np.isfinite(values)]
        top = float(finite.max()) * 1.05 if len(finite) else 1.0
        return np.array([0.0, max(top, 1.0)])

    requests = np.asarray(data["requests"], dtype=float)
    names = np.array(data["names"])
    return [
        {"x": time, "y": lost},
        {"x": at, "y": line(lost)},
        {"x": time, "y": p95},
        {"x": at, "y": line(p95)},
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
    fig.update_yaxes(title_text="sessions lost", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="ms", rangemode="tozero", row=1, col=2)
    fig.update_yaxes(title_text="requests", rangemode="tozero", row=1, col=3)
    fig.update_layout(height=400, legend={"orientation": "h", "y": -0.25},
                      title="Where the session lives decides who is logged out, and how even "
                            "the load is", **LAYOUT)
    fig.update_layout(margin={"t": 90})   # room for the title above the panel titles
    return fig
