"""Lesson 07's part of ``plots``: the launch-day forecast, the golden-signals dashboard and
the class on the cost/SLO plane. Time axes are in hours of the compressed day."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import LAYOUT, MS, WONG

__all__ = ["class_plane", "forecast", "golden_signals"]

_HOUR_TICKS = {"tickvals": [0, 6, 12, 18, 24], "ticktext": ["00:00", "06:00", "12:00", "18:00",
                                                            "24:00"], "range": [0, 24]}


def _hours(seconds):
    from .. import capstone_scenarios as cs

    return np.asarray(seconds, dtype=float) * cs.COMPRESSION / 3600


def forecast() -> go.Figure:
    """The brief's traffic: the daily cycle, the spike where it is forecast, and the band of
    hours it may fall in."""
    from .. import capstone_scenarios as cs

    t = np.linspace(0, cs.DAY, 1441)
    fig = go.Figure()
    low, high = cs.FORECAST_SPIKE_AT - cs.SPIKE_UNCERTAINTY, cs.FORECAST_SPIKE_AT + \
        cs.SPIKE_UNCERTAINTY
    fig.add_vrect(x0=float(_hours(low)), x1=float(_hours(high)), fillcolor=WONG["orange"],
                  opacity=0.15, line_width=0, annotation_text="the spike may start here",
                  annotation_position="top left")
    fig.add_scatter(x=_hours(t), y=cs.request_rate(t, spike_at=None), name="a normal day",
                    line={"color": WONG["sky"], "dash": "dot"})
    fig.add_scatter(x=_hours(t), y=cs.request_rate(t), name="launch day (forecast)",
                    line={"color": WONG["blue"]})
    fig.update_layout(**LAYOUT, height=360,
                      title="Launch day: the spike is four times the normal peak, and its hour "
                            "is a guess",
                      xaxis={"title": "time of day (hours)", **_HOUR_TICKS},
                      yaxis={"title": "requests per second", "rangemode": "tozero"})
    return fig


def golden_signals(result, bad, scenario: str = "", verdict: str = "",
                   slo_latency: float = 0.3) -> go.Figure:
    """Latency, traffic, errors and saturation per simulated minute for one run: p50 and p99
    against the SLO; requests per second; requests against the error budget (failed, late or
    logged out) per minute; utilization and instances in service."""
    series = result.timeline(bin=60.0)
    x = _hours(series["time"] + 30)
    edges = np.arange(len(series["time"]) + 1) * 60.0
    spent = np.histogram(result.requests["arrival"][bad], edges)[0]
    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        specs=[[{}], [{}], [{}], [{"secondary_y": True}]],
                        subplot_titles=("Latency", "Traffic", "Errors (against the budget)",
                                        "Saturation"))
    fig.add_scatter(x=x, y=series["p50"] * MS, name="p50", line={"color": WONG["sky"]},
                    row=1, col=1)
    fig.add_scatter(x=x, y=series["p99"] * MS, name="p99", line={"color": WONG["blue"]},
                    row=1, col=1)
    fig.add_scatter(x=[0, 24], y=[slo_latency * MS] * 2, name="SLO", mode="lines",
                    line={"color": WONG["vermillion"], "dash": "dash"}, row=1, col=1)
    fig.add_scatter(x=x, y=series["arrivals"] / 60, name="requests/s",
                    line={"color": WONG["black"]}, row=2, col=1)
    fig.add_scatter(x=x, y=spent, name="bad requests", line={"color": WONG["vermillion"]},
                    row=3, col=1)
    fig.add_scatter(x=x, y=series["utilization"], name="utilization",
                    line={"color": WONG["orange"]}, row=4, col=1)
    fig.add_scatter(x=x, y=series["instances"], name="instances", line={"color": WONG["green"],
                    "shape": "hv"}, row=4, col=1, secondary_y=True)
    top = max(1000.0, float(np.nanmax(series["p99"] * MS, initial=0)) * 1.1)
    fig.update_yaxes(title_text="ms", range=[0, top], nticks=5, row=1, col=1)
    fig.update_yaxes(title_text="requests/s", rangemode="tozero", nticks=4, row=2, col=1)
    fig.update_yaxes(title_text="requests/min", rangemode="tozero", nticks=4, row=3, col=1)
    fig.update_yaxes(title_text="busy (0–1)", range=[0, 1.05], tickvals=[0, 0.5, 1], row=4,
                     col=1)
    fig.update_yaxes(title_text="instances", rangemode="tozero", nticks=4, row=4, col=1,
                     secondary_y=True)
    fig.update_xaxes(**_HOUR_TICKS, title_text="time of day (hours)",
                     title_font={"size": 10}, title_standoff=2)
    title = f"Golden signals · {scenario}" + (f": {verdict[:90]}" if verdict else "")
    fig.update_layout(**LAYOUT, height=720, title=title, legend={"orientation": "h", "y": -0.08})
    return fig


def class_plane(rows, budget: float, slo_budget: float = 1.0) -> go.Figure:
    """The class on the cost/SLO plane: one dot per submission, cost per day against the
    largest share of the error budget any held-out scenario spent. ``rows``: dicts with
    ``student``, ``cost_per_day``, ``worst_budget_spent`` (1.0 = all of it)."""
    rows = [r for r in rows if r.get("cost_per_day") is not None]
    cost = np.array([float(r["cost_per_day"]) for r in rows])
    spent = np.array([float(r["worst_budget_spent"]) * 100 for r in rows])
    good = (cost <= budget) & (spent <= slo_budget * 100)
    fig = go.Figure()
    for mask, name, colour in ((good, "in budget, SLO met", WONG["green"]),
                               (~good, "over budget or SLO missed", WONG["vermillion"])):
        fig.add_scatter(x=cost[mask], y=spent[mask], mode="markers+text", name=name,
                        text=[r["student"] for r, m in zip(rows, mask) if m],
                        textposition="top center",
                        marker={"color": colour, "size": 11,
                                "symbol": "circle" if colour == WONG["green"] else "x"})
    fig.add_hline(y=slo_budget * 100, line={"color": WONG["black"], "dash": "dash"},
                  annotation_text="the whole error budget")
    fig.add_vline(x=budget, line={"color": WONG["black"], "dash": "dot"},
                  annotation_text="the money budget")
    x_top = max(budget * 1.3, float(cost.max(initial=0)) * 1.1)
    y_top = max(150.0, float(spent.max(initial=0)) * 1.1)
    fig.update_layout(**LAYOUT, height=480,
                      title=f"The class on launch day: {int(good.sum())} of {len(rows)} designs "
                            "met the SLO within budget",
                      xaxis={"title": "cost ($ per day)", "range": [0, x_top], "nticks": 6},
                      yaxis={"title": "error budget spent, worst held-out scenario (%)",
                             "range": [0, y_top], "nticks": 6})
    return fig
