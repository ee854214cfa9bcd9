"""The house style of every figure: the Wong palette (safe for colour-blind readers),
milliseconds for latency, and the layouts the lessons share."""

WONG = {"black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
        "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7"}
SERIES_COLOURS = [WONG[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky",
                                    "yellow", "black")]
MS = 1000.0  # seconds → milliseconds
LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}
SCALING_LAYOUT = {"template": "plotly_white", "margin": {"l": 70, "r": 20, "t": 40, "b": 50}}

__all__ = [
    "LAYOUT", "MS", "SCALING_LAYOUT", "SERIES_COLOURS", "WONG", "log_ticks",
]


def log_ticks(lo: float, hi: float) -> dict:
    """Tick marks for a log axis at 1, 2 and 5 of every decade from ``lo`` to ``hi`` (both
    > 0), as plotly axis settings: ``fig.update_yaxes(type="log", **log_ticks(1, 1000))``.

    >>> log_ticks(1, 10)["tickvals"]
    [1.0, 2.0, 5.0, 10.0]
    """
    import math

    if not 0 < lo < hi:
        raise ValueError(f"log_ticks needs 0 < lo < hi, got lo={lo!r}, hi={hi!r}")
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    values = [m * 10.0 ** e for e in decades for m in (1, 2, 5)]
    values = [round(v, 12) for v in values if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
    return {"tickmode": "array", "tickvals": values, "ticktext": [f"{v:g}" for v in values]}
