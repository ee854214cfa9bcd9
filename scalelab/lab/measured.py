"""What a load in the real lab returns: a ``Result`` that only prints what it measured.

Two numbers of a simulated ``Result`` cannot be read off a real run as they stand:

- **utilization**, the busy fraction of the slots in service. The busy time is the instances'
  own (``X-Start`` to ``X-Start + X-Service``, taken while holding a slot), never the client's
  wait for the answer, which under overload grows without bound: so it cannot pass 100 %.
- **latency**, when the load generator fell behind: each request's latency counts from the
  time it was meant to leave, so a generator that sends late adds its own delay to every
  number. It fell behind when the median request left later than the mean gap between two
  arrivals (requests were queueing in the sender, not just jittering) and that delay is more
  than ``BEHIND_SHARE`` of the median latency (the sender, not the service, set a tenth or
  more of the typical number). The result then carries a caveat, shown beside its summary
  and raised as a warning by ``Lab.load``.
"""

from __future__ import annotations

import numpy as np

from .. import metrics
from ..result import Result, Status

BEHIND_SHARE = 0.1  # the sender's own delay may be at most this share of the median latency


class LabResult(Result):
    """A ``Result`` from real processes; ``late`` holds how many seconds after its time each
    request left (open loop)."""

    def __init__(self, requests, instances, duration, *, late=(), **options):
        super().__init__(requests, instances, duration, **options)
        self.late = np.asarray(late, dtype=float)

    @property
    def behind(self) -> str | None:
        """What the sender's own delay did to the latencies, if it was too large to ignore."""
        sent = self.late[np.isfinite(self.late)]
        ok = self.requests[self.requests["status"] == Status.OK]
        if not (len(sent) and len(ok)):
            return None
        late, latency = float(np.median(sent)), float(np.median(ok["end"] - ok["arrival"]))
        gap = self.duration / len(self.late)
        if late <= gap or late <= BEHIND_SHARE * latency:
            return None
        return (f"the load generator fell behind: the median request left {late * 1000:.3g} ms "
                f"after its time, {late / latency:.0%} of the median latency "
                f"({latency * 1000:.3g} ms), so the latencies measure this machine's sender "
                f"too; send fewer requests per second")

    @property
    def caveats(self) -> list[str]:
        """Why some numbers of this run are not a measurement of the service (may be empty)."""
        return [] if self.behind is None else [self.behind]

    def summary(self, warmup: float = 0.0) -> dict:
        summary = super().summary(warmup)
        start = self._check_warmup(warmup)
        summary["utilization"] = float(self._utilization(np.array([start, self.duration]))[0])
        return summary

    def timeline(self, bin: float = 1.0) -> dict[str, np.ndarray]:
        series = super().timeline(bin)
        edges = np.arange(len(series["time"]) + 1) * float(bin)
        series["utilization"] = self._utilization(edges)
        return series

    def _utilization(self, edges: np.ndarray) -> np.ndarray:
        """The instances' own busy time over their slots in service, per bin of ``edges``."""
        served = self.requests[self.requests["instance"] >= 0]
        busy = np.diff(metrics.busy_seconds(served["start"], served["start"] + served["service"],
                                            edges))
        return busy / np.maximum(self._slot_seconds(edges), 1e-300)

    def __repr__(self) -> str:
        return "\n".join([super().__repr__(), *(f"caveat: {c}" for c in self.caveats)])

    def _repr_html_(self) -> str:
        notes = "".join(f"<p>⚠ {c}</p>" for c in self.caveats)
        return super()._repr_html_() + notes
