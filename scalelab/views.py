"""What a policy sees: a request, and a read-only view of the instances.

``pick(instances, request)`` receives an :class:`InstancesView` (for each instance its
``index``, ``healthy``, ``inflight``, ``speed``, ``weight`` and ``latency``) over the numbers
the simulator or the real proxy keeps in a :class:`ClusterState`. Times in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence


class Request:
    """What a balancer knows about a request: its ``id``, ``arrival`` time (s), ``user`` and
    ``cost``."""

    __slots__ = ("arrival", "cost", "id", "user")

    def __init__(self, id: int, arrival: float, user: int | None = None, cost: float = 1.0):
        self.id, self.arrival, self.user, self.cost = id, arrival, user, cost

    def __repr__(self) -> str:
        return (f"Request(id={self.id}, arrival={self.arrival:.6g}, user={self.user}, "
                f"cost={self.cost:g})")


class _Flags(list):
    """The list of health flags: it counts every change, so policies can cache the healthy set."""

    changes = 0


def _counting(name: str):
    method = getattr(list, name)

    def mutate(self, *args, **kwargs):
        self.changes += 1
        return method(self, *args, **kwargs)

    mutate.__name__ = name
    return mutate


for _name in ("__setitem__", "__delitem__", "__iadd__", "append", "extend", "insert", "pop",
              "remove", "clear", "sort", "reverse"):
    setattr(_Flags, _name, _counting(_name))


class ClusterState:
    """The mutable per-instance numbers the simulator (or the real proxy) keeps up to date."""

    def __init__(self, speeds, weights):
        self.speed = [float(s) for s in speeds]
        self.weight = [float(w) for w in weights]
        self.healthy = [True] * len(self.speed)
        self.inflight = [0] * len(self.speed)
        self.latency = [0.0] * len(self.speed)

    @property
    def healthy(self) -> list[bool]:
        """One flag per instance; setting one (or the whole list) is counted in ``changes``."""
        return self._healthy

    @healthy.setter
    def healthy(self, flags) -> None:
        before = getattr(self, "_healthy", None)
        self._healthy = _Flags(flags)
        self._healthy.changes = 0 if before is None else before.changes + 1

    def add(self, speed: float = 1.0, weight: float = 1.0) -> int:
        """Append an instance; return its index."""
        for values, value in ((self.speed, speed), (self.weight, weight), (self.healthy, True),
                              (self.inflight, 0), (self.latency, 0.0)):
            values.append(value)
        return len(self.speed) - 1


class InstanceView:
    """Read-only view of one instance."""

    __slots__ = ("_state", "index")

    def __init__(self, state: ClusterState, index: int):
        object.__setattr__(self, "_state", state)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError(f"instances are read-only: cannot set {name!r}")

    healthy = property(lambda self: self._state.healthy[self.index])
    inflight = property(lambda self: self._state.inflight[self.index])
    speed = property(lambda self: self._state.speed[self.index])
    weight = property(lambda self: self._state.weight[self.index])
    latency = property(lambda self: self._state.latency[self.index])

    def __repr__(self) -> str:
        return (f"Instance(index={self.index}, healthy={self.healthy}, inflight={self.inflight}, "
                f"speed={self.speed:g}, weight={self.weight:g}, latency={self.latency:.4g})")


class InstancesView(Sequence):
    """Read-only sequence of :class:`InstanceView`, one per instance, in index order."""

    def __init__(self, state: ClusterState):
        self._state = state
        self._items = [InstanceView(state, i) for i in range(len(state.speed))]

    def __len__(self) -> int:
        return len(self._state.speed)

    def __getitem__(self, index):
        if len(self._items) != len(self._state.speed):
            self._items = [InstanceView(self._state, i) for i in range(len(self._state.speed))]
        return self._items[index]

    def healthy(self) -> list[InstanceView]:
        """The instances that are healthy now."""
        return [self[i] for i, ok in enumerate(self._state.healthy) if ok]

    @property
    def health_changes(self) -> int:
        """A counter that moves whenever an instance's health is set: while it and
        ``len(instances)`` stay the same, so does the set of healthy instances."""
        return self._state.healthy.changes

    def __repr__(self) -> str:
        return f"InstancesView({len(self)} instances, {len(self.healthy())} healthy)"


def state_of(instances) -> ClusterState:
    """The numbers behind ``instances``: the view's own state, or a snapshot of any other
    sequence of instance-like objects (then caches keyed on it rebuild on every call)."""
    if isinstance(instances, InstancesView):
        return instances._state
    items = list(instances)
    state = ClusterState([getattr(i, "speed", 1.0) for i in items],
                         [getattr(i, "weight", 1.0) for i in items])
    state.healthy = [bool(i.healthy) for i in items]
    state.inflight = [int(i.inflight) for i in items]
    return state




def pick_avoiding(balancer, instances: InstancesView, request: Request, tried: list[int]):
    """``balancer.pick``, with the instances in ``tried`` shown as unhealthy: how a proxy
    resends a request to another instance than the ones that already failed it."""
    healthy = instances._state.healthy
    saved = [healthy[j] for j in tried]
    for j in tried:
        healthy[j] = False
    try:
        return balancer.pick(instances, request)
    finally:
        for j, was in zip(tried, saved):
            healthy[j] = was


