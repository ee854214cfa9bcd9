"""Where a logged-in user's session lives, and what that costs when instances come and go.

Pass one of these to ``simulate(sessions=…)`` with a workload that has users (for example
``sl.workloads.sessions(…)``). Times in seconds.

- :class:`InMemory`: each instance keeps sessions in its own memory. A request that lands on
  an instance without the user's session is a **lost session**: the user must log in again.
  A crash or a scale-in loses every session on that instance. Pair it with a sticky balancer
  (``sl.balancers.Sticky()``) to keep users on "their" instance.
- :class:`SharedStore`: every instance reads sessions from one store (a database, Redis).
  Nothing is lost when instances change, but each request pays the store's ``latency``, and
  while the store is down (``outages``) requests that need it fail.
- :class:`ReplicatedStore`: a shared store with a replica that takes over ``failover``
  seconds after the primary goes down, so an outage of the primary costs at most that long.

>>> import scalelab as sl
>>> store = sl.sessions.SharedStore(latency=0.002, outages=[(300, 330)])
"""

from __future__ import annotations

from . import _validate


class SessionStore:
    """Base of the session placements; the simulator calls these hooks per request."""

    def reset(self, n_instances: int) -> None:
        """Forget every session; called before a run."""

    def on_request(self, instance: int, user: int, time: float) -> tuple[float, bool, bool]:
        """``user``'s request is served by ``instance`` at ``time``: return
        (extra service seconds, whether the session was lost, whether the store answered)."""
        raise NotImplementedError

    def drop_instance(self, instance: int) -> None:
        """``instance`` crashed or was removed: its local state is gone."""

    def add_instance(self) -> None:
        """A new instance joined."""


class InMemory(SessionStore):
    """Sessions in each instance's process memory: fast, and lost when the user moves."""

    def reset(self, n_instances: int) -> None:
        self._on = [set() for _ in range(n_instances)]  # users whose session each one holds
        self._owner: dict[int, int] = {}                # user -> the instance holding it
        self._seen: set[int] = set()                    # users who have logged in before

    def on_request(self, instance, user, time):
        lost = user in self._seen and self._owner.get(user) != instance
        if self._owner.get(user) != instance:
            # logging in (again) here starts a new session; any old one is no longer valid
            if user in self._owner:
                self._on[self._owner[user]].discard(user)
            self._owner[user] = instance
            self._on[instance].add(user)
        self._seen.add(user)
        return 0.0, lost, True

    def drop_instance(self, instance: int) -> None:
        for user in self._on[instance]:
            del self._owner[user]
        self._on[instance].clear()

    def add_instance(self) -> None:
        self._on.append(set())

    def __repr__(self) -> str:
        return "InMemory()"


class SharedStore(SessionStore):
    """Sessions in one store every instance shares: ``latency`` seconds added to each request;
    during ``outages`` ([(start, end), …] in seconds) requests that need it fail."""

    def __init__(self, latency: float = 0.001, outages=()):
        self.latency = _validate.number("latency", latency, minimum=0)
        outages = _validate.sequence("outages", outages, "(start, end) pairs in seconds")
        self.outages = [self._check_outage(k, o) for k, o in enumerate(outages)]

    @staticmethod
    def _check_outage(k: int, outage) -> tuple[float, float]:
        try:
            start, end = outage
        except (TypeError, ValueError):
            raise TypeError(f"outages[{k}] must be a (start, end) pair in seconds, "
                            f"got {outage!r}") from None
        start = _validate.number(f"outages[{k}] start", start, minimum=0)
        end = _validate.number(f"outages[{k}] end", end, minimum=0)
        if end <= start:
            raise ValueError(f"outages[{k}] must end after it starts, got {outage!r}")
        return start, end

    def on_request(self, instance, user, time):
        up = not any(start <= time < end for start, end in self.outages)
        return self.latency, False, up

    def __repr__(self) -> str:
        return f"SharedStore(latency={self.latency:g}, outages={self.outages})"


class ReplicatedStore(SharedStore):
    """A :class:`SharedStore` with a replica and automatic failover (Redis Sentinel, a managed
    database): when the primary goes down (``outages``), requests fail only until the replica
    is promoted, ``failover`` seconds later. Sessions written just before the outage are
    assumed replicated (asynchronous replication can lose the last ones; this does not)."""

    def __init__(self, latency: float = 0.001, failover: float = 10.0, outages=()):
        super().__init__(latency, outages)
        self.failover = _validate.number("failover", failover, minimum=0)

    def on_request(self, instance, user, time):
        up = not any(start <= time < min(end, start + self.failover)
                     for start, end in self.outages)
        return self.latency, False, up

    def __repr__(self) -> str:
        return (f"ReplicatedStore(latency={self.latency:g}, failover={self.failover:g}, "
                f"outages={self.outages})")
