"""Everything a simulated cluster is told, checked once, before any work: the instance specs,
the policies and their settings, and the limits on every size.

:class:`ClusterConfig` is frozen: built from ``simulate``'s (or ``simulate_closed``'s)
arguments, it is the one object every engine reads. Each bad value raises ``TypeError`` or
``ValueError`` naming the parameter, the value and what is allowed, before anything is
allocated. Times in seconds.

The limits keep a run inside what one laptop (or a 2-core Binder) simulates in memory:

====================================  ===============================================
``instances`` (a count or a list)     at most ``MAX_INSTANCES`` = 10,000
``max_instances`` (autoscaling)       at most ``MAX_INSTANCES``
``Instance(slots=…)``                 at most ``MAX_SLOTS`` = 10,000 per instance
slots over every instance             at most ``MAX_TOTAL_SLOTS`` = 1,000,000
control steps (duration ÷ interval)   at most ``MAX_CONTROL_STEPS`` = 1,000,000
health probes (steps × instances)     at most ``MAX_PROBES`` = 1,000,000
====================================  ===============================================

>>> config = ClusterConfig(instances=3, service_time=0.04)
>>> len(config.instances), config.instances[0]
(3, Instance(speed=1.0, slots=1, weight=1.0))
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from . import _validate
from .failures import Failure, HealthCheck
from .servicetimes import ServiceTime, as_service_time
from .sessions import SessionStore

MAX_INSTANCES = 10_000
MAX_SLOTS = 10_000
MAX_TOTAL_SLOTS = 1_000_000
MAX_CONTROL_STEPS = 1_000_000
MAX_PROBES = 1_000_000  # about 0.9 µs of CPU each: a second at most


@dataclass(frozen=True)
class Instance:
    """One server: ``speed`` multiplies its service rate, ``slots`` is how many requests it
    serves at once (a FIFO queue in front), ``weight`` is what weighted balancers read."""

    speed: float = 1.0
    slots: int = 1
    weight: float = 1.0

    def __post_init__(self):
        _validate.positive("speed", self.speed)
        slots = _validate.integer("slots", self.slots, minimum=1)
        if slots > MAX_SLOTS:
            raise ValueError(f"slots must be between 1 and {MAX_SLOTS:,} (requests one instance "
                             f"serves at once), got {slots:,}")
        _validate.positive("weight", self.weight)


def instance_specs(instances) -> list[Instance]:
    """``instances`` as a list of :class:`Instance`. A count ``n`` means ``n`` instances of
    the default spec, ``Instance()`` (speed 1, one slot, weight 1) — in ``simulate``,
    ``simulate_closed``, ``loadtest.Simulated`` and the real lab alike; one spec means one
    instance; a list means those instances."""
    if isinstance(instances, Instance):
        return [instances]
    if isinstance(instances, type) and issubclass(instances, Instance):
        raise TypeError("instances must be a count or sl.Instance objects: pass sl.Instance(), "
                        "an object, not the class")
    if isinstance(instances, (list, tuple)):
        if not instances:
            raise ValueError("instances must hold at least one sl.Instance, got an empty list")
        if len(instances) > MAX_INSTANCES:
            raise ValueError(f"instances must be between 1 and {MAX_INSTANCES:,}, got a list of "
                             f"{len(instances):,}")
        for i, spec in enumerate(instances):
            if not isinstance(spec, Instance):
                raise TypeError(f"instances[{i}] must be sl.Instance(speed=…, slots=…), "
                                f"got {spec!r}")
        return list(instances)
    count = _validate.integer("instances", instances, minimum=1)
    if count > MAX_INSTANCES:
        raise ValueError(f"instances must be between 1 and {MAX_INSTANCES:,}, got {count:,}")
    return [Instance()] * count


def policy_object(name: str, value, method: str, example: str):
    """``value`` if it is an object with ``method``; a class, or anything else, is refused
    with a message that says what to pass."""
    if isinstance(value, type):
        raise TypeError(f"{name} must be an object, not a class: pass {value.__name__}(), "
                        f"not {value.__name__}")
    if not callable(getattr(value, method, None)):
        signature = "pick(instances, request)" if method == "pick" else f"{method}(observation)"
        raise TypeError(f"{name} must be an object with a {signature} method, e.g. {example}, "
                        f"got {value!r}")
    return value


@dataclass(frozen=True)
class ClusterConfig:
    """One simulated cluster, as ``simulate`` describes its arguments; checked on creation,
    normalized (``instances`` a tuple of :class:`Instance`, ``service_time`` a distribution,
    ``failures`` a tuple) and never changed afterwards."""

    instances: tuple = 1
    service_time: ServiceTime | float | None = None
    balancer: object = None
    seed: int = 0
    queue_limit: int | None = None
    health_check: HealthCheck | None = None
    failures: tuple = ()
    retries: int = 0
    timeout: float | None = None
    sessions: SessionStore | None = None
    autoscaler: object = None
    control_interval: float = 15.0
    min_instances: int = 1
    max_instances: int = 20
    boot_time: float = 60.0

    def __post_init__(self):
        specs = tuple(instance_specs(self.instances))
        if self.service_time is None:
            raise TypeError("service_time is required: the mean seconds of work per request, "
                            "e.g. service_time=0.04")
        values = {
            "instances": specs,
            "service_time": as_service_time(self.service_time),
            "balancer": self._balancer(),
            "queue_limit": None if self.queue_limit is None
            else _validate.integer("queue_limit", self.queue_limit, minimum=0),
            "failures": _failures(self.failures, len(specs)),
            "retries": _validate.integer("retries", self.retries, minimum=0),
            "timeout": None if self.timeout is None
            else _validate.positive("timeout", self.timeout),
            "seed": _validate.seed(self.seed),
        }
        if self.health_check is not None and not isinstance(self.health_check, HealthCheck):
            raise TypeError("health_check must be sl.HealthCheck(interval=…, timeout=…, …) or "
                            f"None, got {self.health_check!r}")
        if self.sessions is not None and not isinstance(self.sessions, SessionStore):
            raise TypeError("sessions must be sl.sessions.InMemory() or "
                            f"sl.sessions.SharedStore(…) or None, got {self.sessions!r}")
        if self.autoscaler is not None:
            values.update(self._scaling(len(specs)))
        for name, value in values.items():
            object.__setattr__(self, name, value)
        self._check_slots()

    def _balancer(self):
        if self.balancer is None:
            from .balancers import RoundRobin
            return RoundRobin()
        return policy_object("balancer", self.balancer, "pick", "sl.balancers.RoundRobin()")

    def _scaling(self, start: int) -> dict:
        policy_object("autoscaler", self.autoscaler, "desired", "sl.autoscalers.HPA()")
        interval = _validate.positive("control_interval", self.control_interval)
        low = _validate.integer("min_instances", self.min_instances, minimum=1)
        high = _validate.integer("max_instances", self.max_instances, minimum=low)
        if high > MAX_INSTANCES:
            raise ValueError(f"max_instances must be between min_instances ({low}) and "
                             f"{MAX_INSTANCES:,}, got {high:,}")
        boot = _validate.number("boot_time", self.boot_time, minimum=0)
        if not low <= start <= high:
            raise ValueError(f"instances must start within [min_instances, max_instances] = "
                             f"[{low}, {high}], got {start}")
        return {"control_interval": interval, "min_instances": low, "max_instances": high,
                "boot_time": boot}

    def _check_slots(self) -> None:
        specs = self.instances
        total = sum(spec.slots for spec in specs)
        if self.autoscaler is not None:
            total += max(0, self.max_instances - len(specs)) * specs[0].slots
        if total > MAX_TOTAL_SLOTS:
            raise ValueError(f"instances must hold at most {MAX_TOTAL_SLOTS:,} slots in all "
                             f"(max_instances included), got {total:,}")

    @property
    def most_instances(self) -> int:
        """The most instances that may take traffic at once."""
        return self.max_instances if self.autoscaler is not None else len(self.instances)

    @property
    def routing_only(self) -> bool:
        """Nothing happens to a request but routing and FIFO queueing: no queue limit, no
        failures, no health checks, no sessions."""
        return (self.queue_limit is None and not self.failures and self.health_check is None
                and self.sessions is None)

    def check_horizon(self, duration: float) -> None:
        """Refuse a run of ``duration`` seconds whose timed events would not fit in memory:
        too many control steps or health probes."""
        if self.autoscaler is not None:
            steps = duration / self.control_interval
            if steps > MAX_CONTROL_STEPS:
                raise ValueError(
                    f"control_interval must be ≥ {duration / MAX_CONTROL_STEPS:.3g} s for a "
                    f"{duration:g} s run (at most {MAX_CONTROL_STEPS:,} control steps), got "
                    f"{self.control_interval:g} s: {steps:.3g} steps")
        if self.health_check is not None:
            probes = duration / self.health_check.interval * self.most_instances
            if probes > MAX_PROBES:
                least = duration * self.most_instances / MAX_PROBES
                raise ValueError(
                    f"health_check.interval must be ≥ {least:.3g} s for a {duration:g} s run on "
                    f"{self.most_instances} instances (at most {MAX_PROBES:,} probes), got "
                    f"{self.health_check.interval:g} s: {probes:.3g} probes")


#: The argument names ``simulate`` and ``simulate_closed`` accept for the cluster.
ARGUMENTS = tuple(field.name for field in fields(ClusterConfig))


def _failures(failures, n_instances: int) -> tuple[Failure, ...]:
    if isinstance(failures, Failure):
        failures = [failures]
    if not isinstance(failures, (list, tuple)):
        raise TypeError("failures must be a list of sl.Crash/sl.Hang/sl.Pause/sl.Slowdown, "
                        f"got {failures!r}")
    for k, failure in enumerate(failures):
        if not isinstance(failure, Failure):
            raise TypeError(f"failures[{k}] must be sl.Crash, sl.Hang, sl.Pause or sl.Slowdown, "
                            f"got {failure!r}")
        if failure.instance >= n_instances:
            raise ValueError(f"failures[{k}].instance must be < {n_instances} (instances are "
                             f"0..{n_instances - 1}), got {failure.instance}")
    return tuple(failures)
