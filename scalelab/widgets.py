"""The lessons' explorers: controls wired to a pure compute function in ``scenarios`` and one
plotly ``FigureWidget`` that is built once and updated in place.

Each explorer returns an ``Explorer`` (an ipywidgets ``VBox``) whose ``controls`` and
``figure`` tests can drive without a browser. ``flow(result)`` is the animated view of a run's
requests (``scalelab.flow``).
"""

from __future__ import annotations

import html
import math

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go

from . import plots, scenarios


def flow(result, start: float | None = None, end: float | None = None, speed: float = 1.0,
         store: bool | None = None):
    """Watch ``result``'s requests move: clients → balancer → an instance's queue → service →
    back, one dot per request, between ``start`` and ``end`` seconds (default: at most 2,000
    requests around the run's first crash, mark-down or launch, else its first error or
    longest wait), at ``speed`` × real time (0.05 to 10). ``store=True`` draws the shared
    session store (by default only when the run shows one).

    >>> view = sl.widgets.flow(res)                                   # doctest: +SKIP
    """
    from .flow import FlowView

    return FlowView(result, start=start, end=end, speed=speed, store=store)


class Explorer(W.VBox):
    """Controls (in rows of four), a figure and a readout. Every change recomputes:
    ``compute(**settings)`` gives a result, ``redraw(figure, result)`` updates the figure in
    place (in one batch) and ``readout_of(result, settings)`` rewrites the readout's HTML;
    ``figure_of(result)`` draws the figure once, at the start."""

    def __init__(self, controls: dict, compute, figure_of, redraw, readout_of):
        settings = {name: c.value for name, c in controls.items()}
        result = compute(**settings)
        figure = go.FigureWidget(figure_of(result))
        readout = W.HTML(readout_of(result, settings))
        names = list(controls)
        rows = [W.HBox([controls[n] for n in names[k:k + 4]]) for k in range(0, len(names), 4)]
        super().__init__([rows[0] if len(rows) == 1 else W.VBox(rows), figure, readout])
        self.controls, self.figure, self.readout = controls, figure, readout
        self._compute, self._redraw, self._readout_of = compute, redraw, readout_of
        for control in controls.values():
            control.observe(self._changed, names="value")

    def _changed(self, _change=None) -> None:
        settings = {name: c.value for name, c in self.controls.items()}
        result = self._compute(**settings)
        with self.figure.batch_update():
            self._redraw(self.figure, result)
        self.readout.value = self._readout_of(result, settings)


WIDE = {"description_width": "initial"}  # room for long slider labels


def _set_traces(figure: go.FigureWidget, traces: list[dict]) -> None:
    """Give each trace of ``figure`` its new x, y (and name, when given); call it inside
    ``batch_update``."""
    for trace, data in zip(figure.data, traces):
        trace.x, trace.y = data["x"], data["y"]
        if "name" in data:
            trace.name = data["name"]


def _slider(kind, value, low, high, step, description, fmt=None):
    """A slider that reports only when released (``continuous_update=False``)."""
    options = {"value": value, "min": low, "max": high, "step": step,
               "description": description, "continuous_update": False, "style": WIDE}
    if fmt:
        options["readout_format"] = fmt
    return kind(**options)


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

    def redraw(figure, result):
        stick, point = result
        _set_traces(figure, plots.queue_explorer_traces(stick, point))
        figure.layout.yaxis.range = [0, plots.queue_explorer_top(stick)]

    return Explorer(controls, compute, lambda result: plots.queue_explorer(*result), redraw,
                    lambda result, _: _queue_readout(result[1]))


def _queue_readout(point: dict) -> str:
    s = point["summary"]
    busy = f"{point['load']:.0%} busy"
    theory = (f"M/M/1 predicts a mean of {point['theory_mean'] * 1000:.0f} ms and a p95 of "
              f"{point['theory_p95'] * 1000:.0f} ms" if point["load"] < 1
              else "M/M/1 has no steady state: the queue grows without end")
    text = (f"At {point['rate']:g} requests/s the server is {busy}: mean latency "
            f"{s['mean'] * 1000:.0f} ms, p95 {s['p95'] * 1000:.0f} ms over "
            f"{s['requests']} simulated requests; {theory}.")
    return f"<p style='font-size:110%'>{html.escape(text)}</p>"


def scaling_explorer(size: int = 4, count: int = 1, traffic: int = 32) -> Explorer:
    """A bigger machine or more machines: pick a machine size from the (illustrative) price
    list, how many of them, and the traffic; see capacity, cost, latency and what a crash of
    one machine does (expected values from ``scenarios.size_vs_count``)."""
    controls = {
        "size": W.Dropdown(options=[(f"{row['size']} cores · ${row['price_per_hour']:.2f}/h",
                                     row["size"]) for row in scenarios.PRICE_LIST],
                           value=size, description="machine size", style=WIDE),
        "count": W.IntSlider(value=count, min=1, max=scenarios.MAX_MACHINES, step=1,
                             description="machines", continuous_update=False, style=WIDE),
        "traffic": W.IntSlider(value=traffic, min=4, max=1000, step=4,
                               description="traffic (requests/s)", continuous_update=False,
                               style=WIDE),
    }
    def redraw(figure, option):
        _set_traces(figure, plots.size_vs_count_traces(option))
        figure.layout.xaxis2.range = plots.size_vs_count_ranges(option)["xaxis2"]

    return Explorer(controls, scenarios.size_vs_count, plots.size_vs_count, redraw,
                    lambda option, _: _scaling_readout(option))


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
    """The threshold rule on a day squeezed into one hour: move the thresholds, the window
    ("for how long"), the cooldown, the boot time and the bounds, and watch traffic, timeouts,
    instances, utilization, p95 latency and cost (``scenarios.autoscaling_explorer``)."""

    controls = {
        "scale_out_above": _slider(W.FloatSlider, scale_out_above, 0.4, 0.95, 0.05,
                                  "scale out above", ".0%"),
        "scale_in_below": _slider(W.FloatSlider, scale_in_below, 0.0, 0.6, 0.05,
                                 "scale in below", ".0%"),
        "duration": _slider(W.IntSlider, duration, 0, 600, 15, "for (s)"),
        "cooldown": _slider(W.IntSlider, cooldown, 0, 600, 30, "cooldown (s)"),
        "boot_time": _slider(W.IntSlider, boot_time, 0, 300, 15, "boot (s)"),
        "min_instances": _slider(W.IntSlider, min_instances, 1, 6, 1, "min instances"),
        "max_instances": _slider(W.IntSlider, max_instances, 2, 15, 1, "max instances"),
    }

    def compute(**settings):
        return scenarios.autoscaling_explorer(**settings, seed=seed)

    return Explorer(controls, compute, plots.autoscaling,
                    lambda figure, series: _set_traces(figure, plots.autoscaling_traces(series)),
                    _autoscaling_readout)


def _autoscaling_readout(s: dict, asked: dict) -> str:
    lines = [(f"Cost {s['instance_hours']:.2f} instance-hours; {s['slow']:.1%} of "
              f"{s['requests']:,} requests missed the SLO ({s['slo']:g} s), {s['failed']:,} of "
              f"them timed out; p95 of the answered ones {s['p95_all']:.1f} s; "
              f"{s['scale_events']} scaling actions.")]
    if s["scale_in_below"] < asked["scale_in_below"] - 1e-9:
        lines.append(f"The scale-in threshold must be below the scale-out one: using "
                     f"{s['scale_in_below']:.0%}.")
    if s["max_instances"] > asked["max_instances"]:
        lines.append(f"Max instances cannot be below min instances: using {s['max_instances']}.")
    return "<p style='font-size:110%'>" + "<br>".join(html.escape(x) for x in lines) + "</p>"


# -- lesson 06: load testing ----------------------------------------------------------------------

def load_test_explorer(shape: str = "ramp", peak_rate: float = 6.0, instances: int = 2,
                       autoscaler: bool = False, seed: int = 0) -> Explorer:
    """A load test of lesson 05's photo service (1 s of work per request, p95 within 10 s):
    pick the shape, its peak rate, the instances and whether the HPA autoscaler (50 % target,
    60 s warm-up) may add more; see offered against achieved load, p95 against the SLO and
    the instances over ten minutes, and where it breaks (``scenarios.load_test_explorer``)."""
    controls = {
        "shape": W.Dropdown(options=list(scenarios.LOADTEST_EXPLORER_SHAPES), value=shape,
                            description="shape", style=WIDE),
        "peak_rate": W.FloatSlider(value=peak_rate, min=1, max=10, step=0.5,
                                   description="peak (requests/s)", readout_format=".1f",
                                   continuous_update=False, style=WIDE),
        "instances": W.IntSlider(value=instances, min=1, max=8, step=1, description="instances",
                                 continuous_update=False, style=WIDE),
        "autoscaler": W.Checkbox(value=autoscaler, description="autoscaler (HPA, 50 %)",
                                 indent=False),
    }

    def compute(**settings):
        return scenarios.load_test_explorer(**settings, seed=seed)

    return Explorer(controls, compute, plots.load_test_explorer,
                    lambda figure, series: _set_traces(figure,
                                                       plots.load_test_explorer_traces(series)),
                    lambda series, _: _load_test_readout(series))


def _load_test_readout(s: dict) -> str:
    o = s["settings"]
    scaling = ("the autoscaler may add up to 12" if o["autoscaler"] else "no autoscaler")
    lines = [(f"A {o['shape']} up to {o['peak_rate']:g} requests/s on {o['instances']} "
              f"instance{'s' if o['instances'] > 1 else ''} ({s['capacity']:g} requests/s at "
              f"most; {scaling})."),
             (f"{s['verdict']} Worst stage p95: {s['worst_p95']:,.1f} s; at most "
              f"{s['most_instances']:.0f} instances in service.")]
    return "<p style='font-size:110%'>" + "<br>".join(html.escape(x) for x in lines) + "</p>"


# -- lesson 02: load balancers --------------------------------------------------------------


def balancer_explorer(policy: str = "round robin", slow_speed: float = 1.0,
                      heavy_tail: bool = False, load: float = 0.7, seed: int = 0) -> Explorer:
    """Four instances behind a balancer, one minute of traffic: pick the policy, slow down two
    instances, make requests heavy-tailed and set how busy the cluster is
    (``scenarios.balancer_explorer``)."""

    controls = {
        "policy": W.Dropdown(options=list(scenarios.EXPLORER_POLICIES), value=policy,
                             description="balancer", style=WIDE),
        "slow_speed": _slider(W.FloatSlider, slow_speed, 0.25, 1.0, 0.25,
                             "speed of instances 2 and 3", ".2f"),
        "heavy_tail": W.Checkbox(value=heavy_tail, description="heavy-tailed requests",
                                 indent=False),
        "load": _slider(W.FloatSlider, load, 0.3, 0.9, 0.05, "cluster busy", ".0%"),
    }

    def compute(**settings):
        return scenarios.balancer_explorer(**settings, seed=seed)

    def redraw(figure, run):
        _set_traces(figure, plots.balancer_explorer_traces(run))
        figure.layout.yaxis2.range = plots.balancer_explorer_ranges(run)["yaxis2"]
        figure.layout.title.text = plots.balancer_explorer_title(run)

    return Explorer(controls, compute, plots.balancer_explorer, redraw,
                    lambda run, _: _balancer_readout(run))


def _seconds(value: float) -> str:
    return f"{value * 1000:,.0f} ms" if value < 1 else f"{value:,.1f} s"


def _balancer_readout(run: dict) -> str:
    o, s = run["settings"], run["summary"]
    name = o["policy"][:1].upper() + o["policy"][1:]
    first = (f"{name}: median {_seconds(s['p50'])}, p99 {_seconds(s['p99'])} over "
             f"{s['requests']:,} requests.")
    if o["policy"] != "round robin":
        baseline = run["baseline_summary"]["p99"]
        first += f" Round robin on the same traffic: p99 {_seconds(baseline)}."
    busiest = int(np.argmax(run["share"] / run["capacity_share"]))
    second = (f"Instance {busiest} got {run['share'][busiest]:.0%} of the requests for "
              f"{run['capacity_share'][busiest]:.0%} of the capacity.")
    return "<p style='font-size:110%'>" + "<br>".join(html.escape(x) for x in (first, second)) \
        + "</p>"


# -- lesson 03: when instances fail ---------------------------------------------------------


def failure_explorer(kind: str = "crash", policy: str = "round robin", interval: float = 2.0,
                     threshold: int = 3, probe_timeout: float = 1.0, retries: bool = False,
                     client_timeout: float = 10.0, deep_check: bool = True,
                     seed: int = 0) -> Explorer:
    """Four instances, one minute of traffic, instance 0 failing from 21 s to 41 s: pick how
    it fails (crash, hang, slow, fail fast), the policy, the health check (interval, failures
    to mark down, probe timeout, deep or shallow), one retry, and the clients' timeout
    (``scenarios.failure_explorer``)."""
    controls = {
        "kind": W.Dropdown(options=list(scenarios.FAILURE_KINDS), value=kind,
                           description="instance 0 fails by", style=WIDE),
        "policy": W.Dropdown(options=list(scenarios.FAILURE_EXPLORER_POLICIES), value=policy,
                             description="balancer", style=WIDE),
        "deep_check": W.Checkbox(value=deep_check, description="deep health check",
                                 indent=False),
        "retries": W.Checkbox(value=bool(retries), description="retry once", indent=False),
        "interval": _slider(W.FloatSlider, interval, 0.5, 5.0, 0.5, "probe every (s)", ".1f"),
        "threshold": _slider(W.IntSlider, threshold, 1, 5, 1, "down after (failed probes)"),
        "probe_timeout": _slider(W.FloatSlider, probe_timeout, 0.25, 3.0, 0.25,
                                 "probe timeout (s)", ".2f"),
        "client_timeout": _slider(W.FloatSlider, client_timeout, 1.0, 30.0, 1.0,
                                  "client timeout (s)", ".0f"),
    }

    def compute(retries, **settings):
        return scenarios.failure_explorer(**settings, retries=int(retries), seed=seed)

    def redraw(figure, run):
        _set_traces(figure, plots.failure_explorer_traces(run))
        figure.layout.shapes = plots.failure_explorer_shapes(run)
        figure.layout.yaxis.range = plots.failure_explorer_ranges(run)["yaxis"]
        figure.layout.title.text = plots.failure_explorer_title(run)

    return Explorer(controls, compute, plots.failure_explorer, redraw, _failure_readout)


def _failure_readout(run: dict, asked: dict) -> str:
    o, s = run["settings"], run["summary"]
    lines = [(f"Instance 0 failed ({o['kind']}) from {o['at']:g} s to {o['until']:g} s: "
              f"{run['failed_during']} of the {run['sent_during']} requests sent meanwhile "
              f"failed; p99 over the minute {_seconds(s['p99'])}.")]
    if math.isfinite(run["detection"]):
        lines.append(f"The health check marked it down at {run['marked_down']:g} s, "
                     f"{run['detection']:g} s after it failed.")
    else:
        lines.append("The health check never marked it down.")
    if o["kind"] == "fail fast" and not o["deep_check"]:
        lines.append("A shallow check only asks whether the process is up: it is, so the check "
                     "keeps passing.")
    if o["kind"] == "fail fast" and o["retries"]:
        lines.append("Its errors are answers, not refused connections: no retry here.")
    if o["probe_timeout"] < asked["probe_timeout"]:
        lines.append(f"The probe timeout cannot exceed the interval: using "
                     f"{o['probe_timeout']:g} s.")
    return "<p style='font-size:110%'>" + "<br>".join(html.escape(x) for x in lines) + "</p>"


# -- lesson 04: statelessness ---------------------------------------------------------------------

STATELESS_MODE_LABELS = {  # the explorer's dropdown: label → scenarios.SESSION_DESIGNS key
    "in memory, round robin": "memory",
    "in memory, sticky sessions": "sticky",
    "shared store, round robin": "shared",
}


def stateless_explorer(mode: str = "memory", instances: int = 4, crash: bool = False,
                       seed: int = 1) -> Explorer:
    """Where the session lives: pick a design (sessions in memory behind round robin or a
    sticky balancer, or a shared store), the number of instances, and whether instance A
    crashes; see lost sessions, latency and how evenly the instances are loaded
    (``scenarios.stateless_explorer``, five minutes of the lesson's shop)."""
    controls = {
        "mode": W.Dropdown(options=list(STATELESS_MODE_LABELS.items()), value=mode,
                           description="sessions", style=WIDE),
        "instances": W.IntSlider(value=instances, min=3, max=8, step=1, description="instances",
                                 continuous_update=False, style=WIDE),
        "crash": W.Checkbox(value=crash, description="instance A crashes at 150 s",
                            indent=False),
    }

    def compute(mode, instances, crash):
        return scenarios.stateless_explorer(mode, instances, crash, seed=seed)

    return Explorer(controls, compute, plots.stateless_explorer,
                    lambda figure, data: _set_traces(figure,
                                                     plots.stateless_explorer_traces(data)),
                    lambda data, _: _stateless_readout(data))


def _stateless_readout(d: dict) -> str:
    lines = [(f"{d['design'].capitalize()}, {d['instances']} instances: {d['lost_sessions']:,} "
              f"of {d['follow_ups']:,} follow-up requests ({d['lost_share']:.0%}) found no "
              f"session — {d['users_logged_out']:,} users sent back to the login page.")]
    lines.append(f"Latency: median {d['p50'] * 1000:,.0f} ms, p95 {d['p95_all'] * 1000:,.0f} ms"
                 + (f" (each request also waits {d['store_latency'] * 1000:g} ms for the store)"
                    if d["store_latency"] else "")
                 + f". The busiest instance served {d['imbalance']:.2f}× the mean.")
    if d["crash"]:
        lines.append(f"Instance A crashed at {d['crash_at']:g} s (a fresh one replaced it at "
                     f"{d['replaced_at']:g} s); {d['errors']:,} requests failed.")
    return "<p style='font-size:110%'>" + "<br>".join(html.escape(x) for x in lines) + "</p>"
