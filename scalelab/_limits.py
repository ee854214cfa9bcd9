"""The largest sizes the course runs, each checked before anything is allocated or run.

- ``MAX_REQUESTS`` = 10⁷ requests in one workload. A simulated request costs about 125 bytes
  at the peak of a run (its arrival time, its work, its 49-byte record and the sorts' scratch,
  measured with ``tracemalloc`` over a run of 10⁶), so 10⁷ requests take about 1.2 GB: within
  the 2 GB a Binder session gets, and longer than anyone waits for a cell (tens of seconds).
- ``MAX_DRAWS`` = 4 × 10⁷ candidate arrivals when a varying rate is drawn by thinning (at the
  peak rate over the whole duration, three 8-byte numbers each: about 1 GB at the limit).
- ``MAX_STAGES`` = 10⁴ stages in a load shape (``windows``, ``rates``, ``targets``): each is a
  row of the report, and a report of more rows than that is read by nobody.
- ``MAX_USERS`` = 10⁵ virtual users in a closed loop: the simulator sets each one up in
  about 0.7 µs (0.07 s for 10⁵), so the limit keeps set-up under a second; a load generator
  on one machine holds far fewer connections open.
"""

from __future__ import annotations

import math

MAX_REQUESTS = 10**7
MAX_DRAWS = 4 * 10**7
MAX_STAGES = 10**4
MAX_USERS = 10**5


def requests(expression: str, expected: float) -> None:
    """Refuse a workload whose expected size (``expression`` = ``expected`` requests) is more
    than ``MAX_REQUESTS``, before a single arrival time is drawn."""
    _at_most(expression, expected, MAX_REQUESTS, "requests")


def draws(expression: str, expected: float) -> None:
    """Refuse a thinned workload whose candidate arrivals at the peak rate (``expression`` =
    ``expected``) are more than ``MAX_DRAWS``."""
    _at_most(expression, expected, MAX_DRAWS, "arrivals drawn at the peak rate")


def _at_most(expression: str, expected: float, limit: int, what: str) -> None:
    if not expected <= limit * (1 + 1e-9):  # rounding aside; also catches an overflow to inf
        raise ValueError(f"{expression} = {_power(expected)} {what}: more than the "
                         f"{_power(limit)} this runs in memory; lower the rate or shorten "
                         f"the duration")


def count(name: str, value: int, maximum: int, why: str) -> int:
    """An integer ``value`` of at most ``maximum`` (``why`` says what the limit protects)."""
    if value > maximum:
        raise ValueError(f"{name} must be ≤ {maximum:,} ({why}), got {value:,}")
    return value


def _power(value: float) -> str:
    """10⁸ for 1e8, 3.2 × 10¹⁵ for 3.2e15, plain digits below a million."""
    if math.isinf(value):
        return "more than 10³⁰⁸"
    if value < 1e6:
        return f"{value:,.0f}"
    exponent = int(math.floor(math.log10(value)))
    mantissa = value / 10**exponent
    sup = str(exponent).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"10{sup}" if round(mantissa, 1) == 1 else f"{mantissa:.2g} × 10{sup}"
