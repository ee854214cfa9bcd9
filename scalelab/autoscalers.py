"""Autoscaling policies: how many instances the cluster should run now.

A policy is an object with one method, ``desired(observation) -> int``, that the simulator
calls every control interval. The :class:`Observation` is a read-only snapshot: the time,
how many instances are ready and how many are still booting, their average utilization over
the last interval (0–1), the request rate (per second), the p95 latency (seconds) and the
number of requests waiting or in service. The simulator keeps the answer within
``[min_instances, max_instances]``.

>>> import scalelab as sl
>>> class AddOneWhenBusy(sl.autoscalers.Autoscaler):
...     def desired(self, observation):
...         busy = observation.utilization > 0.7
...         return observation.ready + observation.warming + (1 if busy else 0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Observation:
    """What an autoscaler sees at ``time`` (s). Metrics cover the last control interval;
    ``utilization`` and ``p95`` are NaN when there is nothing to measure."""

    time: float
    ready: int
    warming: int
    utilization: float
    request_rate: float
    queue_length: int
    min_instances: int
    max_instances: int
    interval: float
    latencies: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)

    @property
    def current(self) -> int:
        """Instances running or booting: what ``desired`` is compared with."""
        return self.ready + self.warming

    @property
    def p95(self) -> float:
        """95th-percentile latency (s) of the requests answered in the last interval."""
        return float(np.percentile(self.latencies, 95)) if len(self.latencies) else math.nan


class Autoscaler:
    """Base class for policies. Override ``desired``; ``reset`` is optional."""

    def desired(self, observation: Observation) -> int:
        """How many instances (ready + booting) there should be after this step."""
        raise NotImplementedError(f"{type(self).__name__} must define desired(observation)")

    def reset(self) -> None:
        """Forget run state; called before every run."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"
