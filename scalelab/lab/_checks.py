"""What a learner asks the lab for, checked before anything starts: instance specs, workloads,
failures. Each error names the parameter, the value and what is allowed."""

from __future__ import annotations

import numbers

from .. import _validate, sim
from ..failures import Crash, Failure, Hang
from ..sim import Instance
from ..workloads import Workload, constant

MAX_INSTANCES = 32  # processes on one laptop or a 2-core Binder


def instance_specs(instances) -> list[Instance]:
    """Specs, as ``simulate`` reads them: a count means that many ``Instance()``."""
    specs = sim.instance_specs(instances)
    from_count = not isinstance(instances, (Instance, list, tuple))
    if from_count and len(specs) > MAX_INSTANCES:
        raise ValueError(f"instances must be ≤ {MAX_INSTANCES} on one machine, got {len(specs)}")
    return specs


def workload(value, duration, mode: str) -> tuple[Workload | None, float]:
    """``(workload or None for a closed loop, duration s)`` from what ``Lab.load`` was given."""
    if mode not in ("open", "closed"):
        raise ValueError(f"mode must be 'open' or 'closed', got {mode!r}")
    if isinstance(value, Workload):
        return value, value.duration if duration is None else _validate.positive(
            "duration", duration)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if duration is None:
            raise ValueError("a rate needs a duration: lab.load(100, duration=5) sends 100 "
                             "requests per second for 5 s")
        duration = _validate.positive("duration", duration)
        return constant(_validate.positive("rate", value), duration), duration
    if value is None and mode == "closed":
        if duration is None:
            raise ValueError("a closed loop needs a duration, e.g. lab.load(mode='closed', "
                             "users=20, duration=5)")
        return None, _validate.positive("duration", duration)
    raise TypeError(f"workload must be a sl.workloads Workload (e.g. sl.workloads.poisson("
                    f"rate=100, duration=5)) or a rate in requests per second, got {value!r}")


def failure_plan(failures, n_instances: int) -> list[tuple[float, str, int]]:
    """``[(at s, action, instance), …]`` in time order; actions: kill, restart, hang, resume."""
    failures = [failures] if isinstance(failures, Failure) else list(failures)
    plan = []
    for k, f in enumerate(failures):
        if not isinstance(f, (Crash, Hang)):
            raise TypeError(f"failures[{k}] must be sl.Crash or sl.Hang (the lab cannot slow "
                            f"a real process down; sl.Slowdown is for simulate), got {f!r}")
        if f.instance >= n_instances:
            raise ValueError(f"failures[{k}].instance must be < {n_instances} (the lab has "
                             f"{n_instances} instances), got {f.instance}")
        if isinstance(f, Crash):
            plan.append((f.at, "kill", f.instance))
            if f.recover_at is not None:
                plan.append((f.recover_at, "restart", f.instance))
        else:
            plan.append((f.at, "hang", f.instance))
            if f.until is not None:
                plan.append((f.until, "resume", f.instance))
    return sorted(plan, key=lambda step: step[0])


