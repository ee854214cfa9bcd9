"""What a learner asks the lab for, checked before anything starts: instance specs, workloads,
failures. Each error names the parameter, the value and what is allowed."""

from __future__ import annotations

import copy
import numbers

import numpy as np

from .. import _validate, sim
from ..balancers import prepare
from ..config import policy_object
from ..failures import Crash, Failure, Hang
from ..routing import checked_pick
from ..sim import Instance
from ..views import Request
from ..workloads import Workload, constant
from .proxy import Proxy

MAX_INSTANCES = 32  # processes on one laptop or a 2-core Binder
# requests one instance process serves at once: each is a thread, and more slots than the load
# generator's connections (256 by default) can never be filled
MAX_SLOTS = 1024


def instance_specs(instances) -> list[Instance]:
    """Specs, as ``simulate`` reads them: a count means that many ``Instance()``. At most
    ``MAX_INSTANCES`` processes and ``MAX_SLOTS`` slots each, however they are given."""
    if not isinstance(instances, (Instance, list, tuple)):  # a count: check it before
        count = _validate.integer("instances", instances, minimum=1)  # a spec is built for each
        if count > MAX_INSTANCES:
            raise ValueError(f"instances must be ≤ {MAX_INSTANCES} on one machine (one process "
                             f"each), got {count}")
    elif isinstance(instances, (list, tuple)) and len(instances) > MAX_INSTANCES:
        raise ValueError(f"instances must list ≤ {MAX_INSTANCES} sl.Instance specs on one "
                         f"machine (one process each), got {len(instances)}")
    specs = sim.instance_specs(instances)
    for k, spec in enumerate(specs):
        check_slots(spec, f"instances[{k}]")
    return specs


def check_slots(spec: Instance, name: str) -> Instance:
    """A spec whose ``slots`` one instance process can serve (≤ ``MAX_SLOTS``)."""
    if spec.slots > MAX_SLOTS:
        raise ValueError(f"{name}.slots must be ≤ {MAX_SLOTS} in the real lab (each slot is a "
                         f"thread of one process), got {spec.slots}")
    return spec


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




def room_for_one_more(count: int) -> None:
    """``lab.add()`` keeps the fleet within ``MAX_INSTANCES`` processes."""
    if count >= MAX_INSTANCES:
        raise ValueError(f"the lab already has {count} instances, the most one machine runs "
                         f"(≤ {MAX_INSTANCES}); remove one first")


def policy(balancer):
    """A balancer object with a ``pick`` method, checked as ``simulate`` checks it (a class
    gets "pass RoundRobin(), not RoundRobin")."""
    return policy_object("balancer", balancer, "pick", "sl.balancers.RoundRobin()")


def policy_fits(balancer, proxy) -> None:
    """Ask a copy of the policy for one pick over the started fleet, before any request: a
    policy that does not fit it (``WeightedRoundRobin(weights=[1])`` on three instances)
    raises here with its own message instead of answering every request 500. The copy keeps
    the policy's own state untouched; a policy that cannot be copied is checked by its first
    request instead. HAProxy and NGINX never call ``pick``: nothing to try there."""
    if not isinstance(proxy, Proxy):
        return
    try:
        trial = copy.deepcopy(balancer)
    except Exception:  # noqa: BLE001 - a learner's object may hold anything
        return
    prepare(trial, np.random.default_rng(0))
    checked_pick(trial.pick(proxy.view, Request(-1, 0.0)), len(proxy.view), balancer)


def balancer_errors(proxy) -> int:
    """How many requests the balancer's exceptions have answered 500 so far (python proxy)."""
    return getattr(proxy, "balancer_errors", 0)


def pick_failure(proxy, count: int, requests: int) -> Exception | None:
    """The exception the balancer raised during a load, retold with how often it happened."""
    error = getattr(proxy, "last_error", None)
    if not count or error is None:
        return None
    name = type(proxy.balancer).__name__
    message = (f"{name} raised {type(error).__name__}: {error} (on {count} of {requests} "
               f"requests, which the proxy answered 500)")
    try:
        retold = type(error)(message)
    except Exception:  # noqa: BLE001 - an exception type that takes other arguments
        retold = RuntimeError(message)
    retold.__cause__ = error
    return retold


def closed_users(users) -> int:
    """Closed-loop users the lab can hold at once. Each holds three sockets in this process
    (its own, the proxy's side of it, the proxy's to an instance), and the process may open
    ``RLIMIT_NOFILE`` files; 100 are kept for everything else."""
    import resource  # Unix only, like the lab

    users = _validate.integer("users", users, minimum=1)
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    most = (soft - 100) // 3 if soft != resource.RLIM_INFINITY else users
    if users > most:
        raise ValueError(f"users must be ≤ {most} here (three sockets each, and this process "
                         f"may open {soft} files: `ulimit -n` says), got {users}")
    return users
