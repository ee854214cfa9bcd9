"""Figures for the lessons: functions that take numbers (from ``scenarios`` or a ``Result``)
and return plotly figures. With ``widgets``, the only place that imports plotly.

One module per lesson, and ``style`` for what they share: the Wong palette (safe for
colour-blind readers), latencies in milliseconds, times in seconds. Everything is available as
``scalelab.plots.<name>``.
"""

from .lesson00 import *  # noqa: F403
from .lesson01 import *  # noqa: F403
from .lesson02 import *  # noqa: F403
from .lesson03 import *  # noqa: F403
from .lesson04 import *  # noqa: F403
from .lesson05 import *  # noqa: F403
from .lesson06 import *  # noqa: F403
from .lesson07 import *  # noqa: F403
from .style import *  # noqa: F403
