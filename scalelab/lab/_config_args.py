"""Checks of what :mod:`.config` is given, and its formatting of times. Each error names the
parameter, the value and what is allowed."""

from __future__ import annotations

from .. import _validate
from ..balancers import WeightedRoundRobin
from ..failures import HealthCheck


def servers(backends) -> list[str]:
    """``"host:port"`` for each backend (a string, a ``(host, port)`` pair or a port)."""
    if isinstance(backends, (str, bytes)) or not hasattr(backends, "__iter__"):
        raise TypeError(f"backends must be a list of 'host:port' strings, (host, port) pairs "
                        f"or ports, got {backends!r}")
    found = [_backend(k, value) for k, value in enumerate(backends)]
    if not found:
        raise ValueError("backends must name at least one server, got an empty list")
    return found


def _backend(k: int, value) -> str:
    name = f"backends[{k}]"
    if isinstance(value, tuple) and len(value) == 2:
        return address(f"{value[0]}:{port(name, value[1])}", name)
    if isinstance(value, str):
        return address(value, name)
    return f"127.0.0.1:{port(name, value)}"


def address(text, name: str) -> str:
    """``text`` if it is ``"host:port"`` with nothing that would break a configuration file."""
    host, sep, number = str(text).rpartition(":")
    if not (isinstance(text, str) and sep and host and number.isdigit()
            and 0 < int(number) < 65536) or any(c in text for c in " ;{}#\n\"'"):
        raise ValueError(f"{name} must be 'host:port' (e.g. '127.0.0.1:8080'), got {text!r}")
    return text


def port(name: str, value) -> int:
    value = _validate.integer(name, value, minimum=1)
    if value > 65535:
        raise ValueError(f"{name} must be a port 1..65535, got {value}")
    return value


def health_check(value) -> HealthCheck | None:
    if value is not None and not isinstance(value, HealthCheck):
        raise TypeError(f"health_check must be sl.HealthCheck(interval=…, …) or None, "
                        f"got {value!r}")
    return value


def whole_weights(balancer, weights, count: int, maximum: int | None) -> list[int] | None:
    """Whole-number weights, one per server, or None when all are equal."""
    if type(balancer) is WeightedRoundRobin and balancer.weights is not None:
        weights, name = balancer.weights, "WeightedRoundRobin weights"
    else:
        name = "weights"
    if weights is None:
        return None
    if len(weights) != count:
        raise ValueError(f"{name} must hold one number per backend ({count}), got {len(weights)}")
    whole = []
    for k, w in enumerate(weights):
        w = _validate.positive(f"{name}[{k}]", w)
        if not w.is_integer() or (maximum is not None and w > maximum):
            limit = f"1..{maximum}" if maximum else "≥ 1"
            raise ValueError(f"{name}[{k}] must be a whole number {limit} in a proxy "
                             f"configuration, got {w:g}; scale them (e.g. [1.5, 1] → [3, 2])")
        whole.append(int(w))
    return None if len(set(whole)) == 1 else whole


def header_name(name: str) -> str:
    if not isinstance(name, str) or not name or not all(c.isalnum() or c == "-" for c in name):
        raise ValueError(f"user_header must be an HTTP header name like 'X-User', got {name!r}")
    return name


def ms(seconds: float) -> str:
    """Seconds as whole milliseconds (at least 1), a unit both programs read."""
    return f"{max(1, round(seconds * 1000))}ms"
