"""The house style of every figure: the Wong palette (safe for colour-blind readers),
milliseconds for latency, the layouts the lessons share, and log axes labelled at 1–2–5."""

import math

WONG = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
        "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7"}
SERIES_COLOURS = [WONG[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky",
                                    "yellow", "black")]
MS = 1000.0  # seconds → milliseconds
LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}
SCALING_LAYOUT = {"template": "plotly_white", "margin": {"l": 70, "r": 20, "t": 40, "b": 50}}

__all__ = [
    "LAYOUT", "MS", "SCALING_LAYOUT", "SERIES_COLOURS", "WONG", "log_axis", "log_tick_marks",
    "log_ticks",
]


def log_ticks(low: float, high: float) -> list[float]:
    """Tick values for a log axis covering ``low``…``high`` (both > 0): 1, 2 and 5 of every
    decade (every decade alone past three decades), widened to the ticks just outside the
    data and to at least three ticks, so the axis always shows three labels or more.

    >>> log_ticks(60, 400)
    [50, 100, 200, 500]
    >>> log_ticks(0.02, 300)[:3], len(log_ticks(0.02, 300))
    ([0.01, 0.1, 1], 6)
    """
    if not (low > 0 and high >= low and math.isfinite(high)):
        raise ValueError(f"log_ticks needs 0 < low ≤ high < inf, got low={low!r}, high={high!r}")
    mantissas = (1, 2, 5) if math.log10(high / low) <= 3 else (1,)
    first, last = math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1
    grid = [_clean(m * 10.0**e) for e in range(first, last + 1) for m in mantissas]
    below = max(k for k, v in enumerate(grid) if v <= low * (1 + 1e-9))
    above = min(k for k, v in enumerate(grid) if v >= high * (1 - 1e-9))
    above = max(above, below + 2)
    return grid[below:above + 1]


def log_tick_marks(low: float, high: float) -> dict:
    """Plotly axis settings that label :func:`log_ticks` (the range is left to the caller):
    ``fig.update_yaxes(type="log", **log_tick_marks(1, 1000))``."""
    ticks = log_ticks(low, high)
    return {"tickmode": "array", "tickvals": ticks, "ticktext": [_label(t) for t in ticks]}


def log_axis(low: float, high: float) -> dict:
    """A plotly axis layout: log scale over ``low``…``high`` with :func:`log_ticks` labelled."""
    marks = log_tick_marks(low, high)
    ticks = marks["tickvals"]
    return {"type": "log", "range": [math.log10(ticks[0]), math.log10(ticks[-1])], **marks}


def _label(tick: float) -> str:
    """1000000 → "1,000,000" and 0.02 → "0.02": a tick label a reader can read."""
    return f"{tick:,.0f}" if tick >= 1 else f"{tick:g}"


def _clean(value: float) -> float | int:
    """1e-2 × 2 → 0.02 and 2.0 → 2: tick values without floating-point dust."""
    value = float(f"{value:.12g}")
    return int(value) if value >= 1 else value
