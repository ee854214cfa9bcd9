"""Checked exercises: one module per lesson, each exercise with ``check``, ``hint``, ``solution``.

>>> from scalelab.exercises import lesson00 as ex
>>> ex.q1.check(...).status                  # the stub's placeholder: not attempted
'not_attempted'
>>> print(ex.q1.hint(1))                     # doctest: +ELLIPSIS
➜ Hint 1 of 3 · lesson00.q1: Utilization is the fraction of time the server is busy...

The answer is always passed in explicitly; nothing is read from the notebook's globals.
Kinds: :class:`Number` (with a stated tolerance), :class:`Choice` (feedback on each wrong
option), :class:`Prediction` (recorded, not graded), and code — :class:`Function` and
:class:`PolicyClass` — which is checked by running it. Outcomes are :class:`Correct`,
:class:`Incorrect`, :class:`NotAttempted`, :class:`Error` (and :class:`Recorded` for a
prediction). ``SCALELAB_MODE=assigned`` in the environment turns ``solution()`` off.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

from .code import Check, Code, Fail, Function, PolicyClass
from .outcomes import Correct, Error, Incorrect, NotAttempted, Outcome, Recorded
from .problem import Choice, Exercise, Number, Prediction, register

__all__ = [
    "Check", "Choice", "Code", "Correct", "Error", "Exercise", "Fail", "Function", "Incorrect",
    "NotAttempted", "Number", "Outcome", "PolicyClass", "Prediction", "Recorded", "find",
    "lessons", "register",
]


def lessons() -> list:
    """Every lesson's exercise module (``lesson00``, ``lesson01``, …), in order."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__)
                   if re.fullmatch(r"lesson\d+", m.name))
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def find(exercise_id: str) -> Exercise:
    """The exercise called ``exercise_id``, e.g. ``"lesson02.q3"``."""
    lesson, _, name = exercise_id.partition(".")
    if not re.fullmatch(r"lesson\d+", lesson) or not re.fullmatch(r"q\d+", name):
        raise ValueError(f"exercise ids look like 'lesson02.q3', got {exercise_id!r}")
    module = importlib.import_module(f"{__name__}.{lesson}")
    try:
        return getattr(module, name)
    except AttributeError:
        raise ValueError(f"{lesson} has no exercise {name}; it has "
                         f"{', '.join(e.name for e in module.EXERCISES)}") from None


def __getattr__(name: str):
    if re.fullmatch(r"lesson\d+", name):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError:
            pass
    raise AttributeError(f"module 'scalelab.exercises' has no attribute {name!r}")
