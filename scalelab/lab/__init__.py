"""The real lab: real processes on 127.0.0.1 driven by the simulator's balancer objects.

>>> import scalelab as sl
>>> with sl.lab.Lab(instances=3, balancer=sl.balancers.RoundRobin(), store="sqlite") as lab:
...     lab.get("/work?ms=20").instance                                 # doctest: +SKIP
...     res = lab.load(sl.workloads.poisson(rate=100, duration=5),      # doctest: +SKIP
...                    failures=[sl.Crash(instance=0, at=2)])

A load returns a ``Result`` like ``simulate``'s, and ``failures=`` takes the simulator's
``sl.Crash``/``sl.Hang``, so a lesson can run one scenario both ways and put them side by side:

- lesson 03, kill under load: ``lab.load(wl, failures=[sl.Crash(0, at=2)])`` with
  ``Lab(retries=0, passive_ejection=False)`` (errors until the health check acts), then
  ``retries=1`` (none); ``res.timeline()`` and ``res.events`` for the plot;
  ``sl.balancers.LeastConnections()`` without passive ejection shows the black hole.
- lesson 04, sessions: ``ada = lab.session("ada")`` then ``[ada.me().instance for _ in
  range(9)]`` and ``[ada.me().ok …]``; ``store="memory" | "sqlite" | "redis"``, and
  ``lab.kill(0)``; ``sl.lab.redis_available()`` says whether the Redis cell can run.
- lesson 06, breaking point: ``lab.load(sl.workloads.ramp(10, 400, 20), path="/work?cpu=10")``
  beside ``sl.simulate`` of the same workload; ``mode="closed"`` for coordinated omission.

Modules, one concept each: ``lab`` (the ``Lab`` that owns everything), ``fleet`` (the instance
processes and what is done to them), ``instance`` (the server process), ``stores`` (memory,
SQLite, Redis sessions), ``redis_server`` (a private redis-server), ``proxy`` (the asyncio
balancer), ``health`` (its active checks), ``loadgen`` (open and closed loops), ``client`` (a
notebook's HTTP client), ``processes`` (starting children so that none outlives the lab),
``loopthread`` (an event loop in a thread), ``config`` (HAProxy and NGINX configurations from
the policy objects), ``external`` (real HAProxy or NGINX as the lab's proxy). Standard library
only, plus numpy for the records.
Unix only (signals, process groups, unix sockets); Linux adds ``PR_SET_PDEATHSIG``.
"""

from __future__ import annotations

from . import config, external, redis_server
from .client import Response, Session
from .lab import DEFAULT_HEALTH_CHECK, Lab
from .loadgen import LoadGenerator

__all__ = ["DEFAULT_HEALTH_CHECK", "Lab", "LoadGenerator", "Response", "Session", "config",
           "proxy_available", "redis_available", "redis_server"]


def redis_available() -> bool:
    """Whether ``Lab(store="redis")`` can start (a redis-server binary was found)."""
    return redis_server.find() is not None


def proxy_available(proxy: str) -> bool:
    """Whether ``Lab(proxy=proxy)`` can start: ``"python"`` always, ``"haproxy"`` and
    ``"nginx"`` when the program was found."""
    return proxy == "python" or external.find(proxy) is not None
