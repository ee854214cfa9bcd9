"""How every engine — the simulator's loop, its fast paths, the real lab's proxy — calls a
policy, written once so that a policy behaves the same wherever it runs:

- :func:`hook`: the policy's ``on_start``/``on_finish``, or None when it has only the base
  class's empty one (calling that would change nothing);
- :func:`checked_pick`: what ``pick`` returned, as an instance index, or a clear error;
- :func:`record_latency`: the ``latency`` a view shows, an exponentially weighted average of
  the instance's response times;
- :func:`fast_path`: the one rule that decides whether an engine may route with a policy's
  kernel instead of calling its ``pick``;
- :func:`checked_desired`: an autoscaler's answer, as a whole number of instances within
  bounds.

Times in seconds.
"""

from __future__ import annotations

import math

import numpy as np

from .views import InstanceView

#: Weight of the newest response time in an instance's ``latency`` (the view's EWMA).
LATENCY_WEIGHT = 0.2

#: The methods an engine calls on a policy. A class that overrides any of them after the
#: class that offers a fast path loses that fast path: its own code must run.
HOOKS = ("pick", "on_start", "on_finish", "reset")


def hook(policy, name: str):
    """The policy's bound hook ``name``, or None when it has none or only the base class's."""
    from .balancers import Balancer

    method = getattr(type(policy), name, None)
    if method is None or method is getattr(Balancer, name):
        return None
    return getattr(policy, name)


def checked_pick(choice, count: int, policy) -> int | None:
    """The index of the instance ``pick`` chose among ``count``, or None for no instance."""
    if type(choice) is InstanceView:
        return choice.index
    if choice is None:
        return None
    index = choice.index if isinstance(choice, InstanceView) else choice
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise TypeError(_bad_pick(choice, count, policy))
    if not 0 <= index < count:
        raise ValueError(_bad_pick(choice, count, policy))
    return int(index)


def _bad_pick(choice, count: int, policy) -> str:
    return (f"{type(policy).__name__}.pick returned {choice!r}; it must return one of the "
            f"instances it was given, an index 0..{count - 1}, or None")


def record_latency(latencies: list[float], j: int, latency: float) -> None:
    """Fold one response time (s) into instance ``j``'s average; the first one sets it."""
    previous = latencies[j]
    latencies[j] = latency if previous == 0 else \
        (1 - LATENCY_WEIGHT) * previous + LATENCY_WEIGHT * latency


def fast_path(policy, specs, most: int):
    """The kernel ``policy`` offers for ``specs`` (at most ``most`` instances taking traffic
    at once), or None: then the engine calls ``pick`` and the hooks for every request.

    The rule: a policy offers a fast path through its optional ``fast_path(specs, most)``
    method (see ``balancers.Balancer.fast_path``). The class that defines ``fast_path`` vouches
    for the ``pick``, ``on_start``, ``on_finish`` and ``reset`` it and its bases define; if a
    subclass (or the object itself) overrides any of them, that code must run, so there is no
    fast path unless the subclass defines its own ``fast_path`` too.
    """
    cls = type(policy)
    if getattr(cls, "fast_path", None) is None:
        return None
    mro = cls.__mro__
    owner = next(k for k, c in enumerate(mro) if "fast_path" in vars(c))
    overridden = any(name in vars(c) for c in mro[:owner] for name in HOOKS)
    if overridden or any(name in getattr(policy, "__dict__", {}) for name in (*HOOKS,
                                                                              "fast_path")):
        return None
    return policy.fast_path(list(specs), most)


def checked_desired(autoscaler, observation, low: int, high: int) -> int:
    """The autoscaler's answer for ``observation``, kept within [``low``, ``high``]."""
    wanted = autoscaler.desired(observation)
    if isinstance(wanted, (bool, np.bool_)) or not isinstance(wanted, (int, np.integer)):
        if isinstance(wanted, (float, np.floating)) and math.isfinite(wanted) \
                and wanted == int(wanted):
            wanted = int(wanted)
        else:
            raise TypeError(f"{type(autoscaler).__name__}.desired returned {wanted!r}; "
                            "it must return a whole number of instances")
    return max(low, min(high, int(wanted)))
