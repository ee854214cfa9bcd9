"""scalelab: a hands-on course on growing a service past one machine.

>>> import scalelab as sl
>>> res = sl.simulate(sl.workloads.poisson(rate=80, duration=60, seed=1),
...                   instances=4, service_time=0.04, seed=1)

``sl.plots`` and ``sl.widgets`` load plotly and ipywidgets on first use.
"""

from __future__ import annotations

import importlib

from . import autoscalers, balancers, loadtest, metrics, sessions, theory, workloads
from .failures import Crash, Hang, HealthCheck, Pause, Slowdown
from .result import Result, Status
from .servicetimes import Constant, Exponential, LogNormal, Pareto, ServiceTime
from .sim import Instance, simulate, simulate_closed

__version__ = "0.1.0"

__all__ = [
    "Constant", "Crash", "Exponential", "Hang", "HealthCheck", "Instance", "LogNormal", "Pareto",
    "Pause", "Result", "ServiceTime", "Slowdown", "Status", "autoscalers", "balancers",
    "loadtest", "metrics", "plots", "sessions", "simulate", "simulate_closed", "theory",
    "widgets", "workloads",
]

_LAZY = {"capstone", "plots", "widgets", "exercises", "lab", "scenarios", "testing"}


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'scalelab' has no attribute {name!r}")
