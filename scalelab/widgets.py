"""The lessons' explorers: controls wired to a pure compute function in ``scenarios`` and one
plotly ``FigureWidget`` that is built once and updated in place.

Each explorer returns an ``Explorer`` (an ipywidgets ``VBox``) whose ``controls`` and
``figure`` tests can drive without a browser.
"""

from __future__ import annotations

import html

import ipywidgets as W
import plotly.graph_objects as go

from . import plots, scenarios


class Explorer(W.VBox):
    """A column of controls, a figure and a one-line readout, updated on every change."""

    def __init__(self, controls: dict, figure: go.FigureWidget, readout: W.HTML, update):
        super().__init__([W.HBox(list(controls.values())), figure, readout])
        self.controls = controls
        self.figure = figure
        self.readout = readout
        self._update = update
        for control in controls.values():
            control.observe(self._changed, names="value")

    def _changed(self, _change=None) -> None:
        self._update(**{name: c.value for name, c in self.controls.items()})


def queue_explorer(rate: float = 10.0, service_time_ms: float = 40.0, seed: int = 0) -> Explorer:
    """One server as a queue: move the arrival rate and watch latency climb the hockey stick."""
    controls = {
        "rate": W.FloatSlider(value=rate, min=1, max=30, step=1, description="arrivals/s",
                              readout_format=".0f", continuous_update=False),
        "service_time_ms": W.FloatSlider(value=service_time_ms, min=10, max=80, step=5,
                                         description="service ms", readout_format=".0f",
                                         continuous_update=False),
    }
    state = {"service_time": service_time_ms / 1000, "stick": None}

    def compute(rate, service_time_ms):
        service_time = service_time_ms / 1000
        if state["stick"] is None or state["service_time"] != service_time:
            state["stick"] = scenarios.hockey_stick(service_time, seed=seed)
            state["service_time"] = service_time
        return state["stick"], scenarios.one_server(rate, service_time, seed=seed)

    stick, point = compute(rate, service_time_ms)
    figure = go.FigureWidget(plots.queue_explorer(stick, point))
    readout = W.HTML(_queue_readout(point))

    def update(rate, service_time_ms):
        stick, point = compute(rate, service_time_ms)
        with figure.batch_update():
            for trace, data in zip(figure.data, plots.queue_explorer_traces(stick, point)):
                trace.x, trace.y = data["x"], data["y"]
            figure.layout.yaxis.range = [0, plots.queue_explorer_top(stick)]
        readout.value = _queue_readout(point)

    return Explorer(controls, figure, readout, update)


def _queue_readout(point: dict) -> str:
    s = point["summary"]
    busy = f"{point['load']:.0%} busy"
    theory = ("M/M/1 predicts a mean of "
              f"{point['theory_mean'] * 1000:.0f} ms" if point["load"] < 1
              else "M/M/1 has no steady state: the queue grows without end")
    text = (f"At {point['rate']:g} requests/s the server is {busy}: mean latency "
            f"{s['mean'] * 1000:.0f} ms, p95 {s['p95'] * 1000:.0f} ms over "
            f"{s['requests']} simulated requests; {theory}.")
    return f"<p style='font-size:110%'>{html.escape(text)}</p>"


def scaling_explorer(size: int = 4, count: int = 1, traffic: int = 32) -> Explorer:
    """A bigger machine or more machines: pick a machine size from the (illustrative) price
    list, how many of them, and the traffic; see capacity, cost, latency and what a crash of
    one machine does (expected values from ``scenarios.size_vs_count``)."""
    wide = {"description_width": "initial"}
    controls = {
        "size": W.Dropdown(options=[(f"{row['size']} cores · ${row['price_per_hour']:.2f}/h",
                                     row["size"]) for row in scenarios.PRICE_LIST],
                           value=size, description="machine size", style=wide),
        "count": W.IntSlider(value=count, min=1, max=scenarios.MAX_MACHINES, step=1,
                             description="machines", continuous_update=False, style=wide),
        "traffic": W.IntSlider(value=traffic, min=4, max=1000, step=4,
                               description="traffic (requests/s)", continuous_update=False,
                               style=wide),
    }
    option = scenarios.size_vs_count(size, count, traffic)
    figure = go.FigureWidget(plots.size_vs_count(option))
    readout = W.HTML(_scaling_readout(option))

    def update(size, count, traffic):
        option = scenarios.size_vs_count(size, count, traffic)
        with figure.batch_update():
            for trace, data in zip(figure.data, plots.size_vs_count_traces(option)):
                trace.x, trace.y = data["x"], data["y"]
                if "name" in data:
                    trace.name = data["name"]
            figure.layout.xaxis2.range = plots.size_vs_count_ranges(option)["xaxis2"]
        readout.value = _scaling_readout(option)

    return Explorer(controls, figure, readout, update)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.0f} s"


def _scaling_readout(o: dict) -> str:
    machines = f"{o['count']} machine{'s' if o['count'] > 1 else ''} of {o['size']} cores"
    they, are = ("they", "are") if o["count"] > 1 else ("it", "is")
    lines = [(f"{machines}: {o['capacity']:,.0f} requests/s at most, "
              f"${o['cost_per_hour']:.2f} per hour.")]
    if o["utilization"] >= 1:
        lines.append(f"At {o['traffic']:,.0f} requests/s {they} would be "
                     f"{o['utilization']:.0%} busy: not enough capacity, the queue grows "
                     "without end.")
    else:
        lines.append(f"At {o['traffic']:,.0f} requests/s {they} {are} {o['utilization']:.0%} busy: "
                     f"mean latency {_ms(o['mean'])}, p99 {_ms(o['p99'])}.")
        if o["count"] == 1:
            lines.append(f"If it crashes, every request fails until it is back: "
                         f"{o['failed_total']:,.0f} failed requests in this run.")
        elif o["utilization_after_crash"] < 1:
            lines.append(f"If one crashes, about {o['failed_total']:,.0f} requests fail before "
                         f"the health check removes it; the other {o['count'] - 1} are then "
                         f"{o['utilization_after_crash']:.0%} busy: mean "
                         f"{_ms(o['mean_after_crash'])}, p99 {_ms(o['p99_after_crash'])}.")
        else:
            lines.append(f"If one crashes, about {o['failed_total']:,.0f} requests fail before "
                         f"the health check removes it, and the other {o['count'] - 1} would "
                         f"need to be {o['utilization_after_crash']:.0%} busy: overloaded, queues "
                         f"grow until it is back (waits of at least {_ms(o['peak_wait'])}).")
    if o["traffic"] > scenarios.LARGEST_SIZE / o["service_time"]:
        lines.append("No single machine on the price list can carry this traffic.")
    text = " ".join(lines)
    return f"<p style='font-size:110%'>{html.escape(text)}</p>"


def autoscaling_explorer(scale_out_above: float = 0.7, scale_in_below: float = 0.3,
                         duration: float = 300.0, cooldown: float = 300.0,
                         boot_time: float = 60.0, min_instances: int = 1,
                         max_instances: int = 10, seed: int = 0) -> Explorer:
    """The course text's rule on a day squeezed into one hour: move the thresholds, the
    window ("for how long"), the cooldown, the warm-up and the bounds, and watch traffic,
    instances, utilization, p95 latency and cost (``scenarios.autoscaling_explorer``)."""
    wide = {"description_width": "initial"}

    def slider(kind, value, low, high, step, description, fmt=None):
        options = {"value": value, "min": low, "max": high, "step": step,
                   "description": description, "continuous_update": False, "style": wide}
        if fmt:
            options["readout_format"] = fmt
        return kind(**options)

    controls = {
        "scale_out_above": slider(W.FloatSlider, scale_out_above, 0.4, 0.95, 0.05,
                                  "scale out above", ".0%"),
        "scale_in_below": slider(W.FloatSlider, scale_in_below, 0.0, 0.6, 0.05,
                                 "scale in below", ".0%"),
        "duration": slider(W.IntSlider, duration, 0, 600, 15, "for (s)"),
        "cooldown": slider(W.IntSlider, cooldown, 0, 600, 30, "cooldown (s)"),
        "boot_time": slider(W.IntSlider, boot_time, 0, 300, 15, "warm-up (s)"),
        "min_instances": slider(W.IntSlider, min_instances, 1, 6, 1, "min instances"),
        "max_instances": slider(W.IntSlider, max_instances, 2, 15, 1, "max instances"),
    }

    def compute(**settings):
        return scenarios.autoscaling_explorer(**settings, seed=seed)

    settings = {name: c.value for name, c in controls.items()}
    series = compute(**settings)
    figure = go.FigureWidget(plots.autoscaling(series))
    readout = W.HTML(_autoscaling_readout(series, settings))

    def update(**settings):
        series = compute(**settings)
        with figure.batch_update():
            for trace, data in zip(figure.data, plots.autoscaling_traces(series)):
                trace.x, trace.y = data["x"], data["y"]
        readout.value = _autoscaling_readout(series, settings)

    explorer = Explorer(controls, figure, readout, update)
    names = list(controls)
    explorer.children = (W.VBox([W.HBox([controls[n] for n in names[:4]]),
                                 W.HBox([controls[n] for n in names[4:]])]),
                         figure, readout)
    return explorer


def _autoscaling_readout(s: dict, asked: dict) -> str:
    lines = [(f"Cost {s['instance_hours']:.2f} instance-hours; {s['slow']:.1%} of "
              f"{s['requests']:,} requests missed the SLO ({s['slo']:g} s); p95 over the hour "
              f"{s['p95_all']:.1f} s; {s['scale_events']} scaling actions.")]
    if s["scale_in_below"] < asked["scale_in_below"] - 1e-9:
        lines.append(f"The scale-in threshold must be below the scale-out one: using "
                     f"{s['scale_in_below']:.0%}.")
    if s["max_instances"] > asked["max_instances"]:
        lines.append(f"Max instances cannot be below min instances: using {s['max_instances']}.")
    return "<p style='font-size:110%'>" + "<br>".join(html.escape(x) for x in lines) + "</p>"
