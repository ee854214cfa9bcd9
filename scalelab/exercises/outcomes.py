"""What ``check``, ``hint`` and ``solution`` return: small typed messages that render as a
coloured card in JupyterLab (``_repr_html_``) and as plain text everywhere else.

Colours are the Okabe–Ito (colour-blind-safe) palette, and every card also carries an icon
and a word, so the colour is never the only signal.

>>> from scalelab.exercises.outcomes import Correct
>>> print(Correct("ρ = 0.75.", exercise="lesson00.q1"))
✓ Correct · lesson00.q1: ρ = 0.75.
"""

from __future__ import annotations

import html
import re


class Message:
    """A card: an icon, a word, the exercise it is about, a message and optional details.

    ``message`` is short prose in which `backticks` mark code; ``details`` is preformatted
    text (a traceback, a code listing) shown below it.
    """

    icon = "•"
    word = "Note"
    colour = "#999999"

    def __init__(self, message: str = "", details: str = "", exercise: str = ""):
        self.message, self.details, self.exercise = message, details, exercise

    @property
    def title(self) -> str:
        return f"{self.icon} {self.word}"

    def __str__(self) -> str:
        head = f"{self.title} · {self.exercise}" if self.exercise else self.title
        text = f"{head}: {self.message}" if self.message else head
        if self.details:
            text += "\n" + "\n".join("    " + line for line in self.details.splitlines())
        return text

    __repr__ = __str__

    def _repr_html_(self) -> str:
        where = (f" <span style='opacity:0.75'>· {html.escape(self.exercise)}</span>"
                 if self.exercise else "")
        details = (f"<pre style='margin:6px 0 0 0;white-space:pre-wrap;background:none'>"
                   f"{html.escape(self.details)}</pre>" if self.details else "")
        return (f"<div role='status' style='border-left:6px solid {self.colour};"
                f"background:{self.colour}1f;padding:6px 10px;margin:4px 0;"
                f"border-radius:2px;line-height:1.45'>"
                f"<strong>{html.escape(self.title)}</strong>{where}"
                f"<div>{_inline_markup(self.message)}</div>{details}</div>")


def _inline_markup(text: str) -> str:
    """Escape ``text`` for HTML; `code` becomes <code>, **bold** becomes <strong>,
    blank lines become paragraph breaks."""
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return text.replace("\n\n", "<br><br>").replace("\n", "<br>")


class Outcome(Message):
    """The result of checking an answer. ``status`` is one of ``pass``, ``fail``,
    ``not_attempted``, ``error``; ``passed`` is true only for ``pass``."""

    status = "fail"

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def __bool__(self) -> bool:
        return self.passed

    def assert_passed(self) -> None:
        """Raise AssertionError with this message unless it passed (for nbgrader grade cells)."""
        if not self.passed:
            raise AssertionError(str(self))

    def record(self, points: float) -> dict:
        """A JSON-ready row for the grader: status, points earned, points possible, message."""
        record = {"exercise": self.exercise, "status": self.status,
                  "points": points if self.passed else 0, "max_points": points,
                  "message": self.message}
        if getattr(self, "data", None):  # numbers for the class view (the capstone's cost, …)
            record["data"] = self.data
        return record


class Correct(Outcome):
    icon, word, colour, status = "✓", "Correct", "#009E73", "pass"


class Recorded(Outcome):
    """A prediction was written down. It is not graded; it counts as done."""

    icon, word, colour, status = "✎", "Recorded", "#0072B2", "pass"


class Incorrect(Outcome):
    icon, word, colour, status = "✗", "Incorrect", "#D55E00", "fail"


class NotAttempted(Outcome):
    icon, word, colour, status = "○", "Not attempted", "#808080", "not_attempted"


class Error(Outcome):
    """The learner's code crashed or never returned; ``details`` holds their traceback."""

    icon, word, colour, status = "⚠", "Error in your code", "#CC79A7", "error"


class Hint(Message):
    icon, word, colour = "➜", "Hint", "#56B4E9"

    def __init__(self, message: str, number: int, total: int, exercise: str = ""):
        super().__init__(message, exercise=exercise)
        self.word = f"Hint {number} of {total}"


class Solution(Message):
    icon, word, colour = "≡", "Solution", "#0072B2"


class Notice(Message):
    """Anything else the learner should read: a question to confirm, a mode that is off."""

    icon, word, colour = "ℹ", "Note", "#E69F00"
