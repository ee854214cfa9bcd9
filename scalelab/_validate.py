"""Argument checks shared by the public API: each error names the parameter, the value and
what is allowed, and is raised before any work is done."""

from __future__ import annotations

import math
import numbers

import numpy as np


def number(name: str, value, *, minimum: float | None = None, above: float | None = None,
           maximum: float | None = None) -> float:
    """Return ``value`` as a float after checking its type and range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got NaN")
    if above is not None and not value > above:
        raise ValueError(f"{name} must be > {above:g}, got {value:g}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be ≥ {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be ≤ {maximum:g}, got {value:g}")
    return value


def positive(name: str, value) -> float:
    """A finite number > 0 (a rate, a duration, a service time)."""
    value = number(name, value, above=0)
    if math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def integer(name: str, value, *, minimum: int | None = None) -> int:
    """An int (numpy ints too, never bool or float) not below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be ≥ {minimum}, got {value}")
    return value


def seed(value) -> int:
    """A seed: an int ≥ 0."""
    return integer("seed", value, minimum=0)


def sequence(name: str, values, what: str = "numbers") -> list:
    """``values`` as a list, or a TypeError when it is not a sequence (a string is not one)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a list of {what}, got {values!r} "
                        f"({type(values).__name__})")
    return list(values)


def times(name: str, values) -> np.ndarray:
    """A 1-d array of finite, non-negative times in seconds."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of numbers (seconds), got {values!r}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    bad = ~np.isfinite(array) | (array < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must hold finite times ≥ 0, got {array[i]!r} at position {i}")
    return array
