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
    "LAYOUT", "MS", "SCALING_LAYOUT", "SERIES_COLOURS", "WONG",
]
