"""The numbers behind the lessons' figures and explorers: pure functions of their settings.

No plotting here: ``plots`` draws what these return, ``widgets`` wires controls to them, and
tests call them directly. Times in seconds, rates per second, utilization 0–1. One module per
lesson; everything is available as ``scalelab.scenarios.<name>``.
"""

from .lesson00 import *  # noqa: F403
from .lesson01 import *  # noqa: F403
from .lesson02 import *  # noqa: F403
from .lesson03 import *  # noqa: F403
from .lesson04 import *  # noqa: F403
from .lesson05 import *  # noqa: F403
from .lesson06 import *  # noqa: F403
