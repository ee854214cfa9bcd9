"""Exercises as short declarations: a number, a choice, a prediction (code is in ``code``).

An exercise knows its prompt, the stub the learner starts from, the reference solution, a
ladder of hints and how to judge an answer. The learner's answer is always passed in:
``ex.q1.check(q1_utilization)``. ``...`` (Ellipsis), the stub's placeholder, means "not
attempted", never "wrong". Messages describe the learner's answer, never the expected one.

>>> q = Number(title="Double", prompt="What is 2 × 0.5?", answer="q_double", expected=1.0,
...            tolerance=0.01, solution="q_double = 2 * 0.5")
>>> q.check(...).status, q.check(1.0).status, q.check(3).status
('not_attempted', 'pass', 'fail')
"""

from __future__ import annotations

import math
import numbers
import os
import re

from .outcomes import (
    Correct,
    Hint,
    Incorrect,
    Message,
    NotAttempted,
    Notice,
    Outcome,
    Recorded,
    Solution,
)

_NOTHING = object()  # check() called without an argument

INSTRUCTOR_NOTE = ("Public checks passed; the instructor's checks (the same properties on other "
                   "seeds and traffic) run at grading.")


class Exercise:
    """Base of every kind. Subclasses define ``_judge(answer, instructor) -> Outcome``.

    - ``title``: a few words, for lists; ``prompt``: the question (markdown).
    - ``answer``: the name the learner's cell binds (``q1_utilization``, ``LeastConnections``).
    - ``stub``: the code the learner starts from; ``solution``: the reference code that
      replaces it in the instructor's copy; ``explanation``: prose shown with the solution.
    - ``hints``: from a nudge to nearly the answer; ``points``: what it is worth when graded.
    """

    kind = "exercise"
    has_instructor_checks = False

    def __init__(self, *, title: str, prompt: str, answer: str, solution: str,
                 stub: str | None = None, hints=(), explanation: str = "", points: float = 1):
        if not answer.isidentifier():
            raise ValueError(f"answer must be a Python name, got {answer!r}")
        self.title, self.prompt, self.answer = title, prompt.strip(), answer
        self.solution_code = solution.strip("\n")
        self.stub = (stub if stub is not None else self._default_stub()).strip("\n")
        self.hints, self.explanation, self.points = tuple(hints), explanation.strip(), points
        self.id, self.name = "", ""
        self._attempts = 0
        self._next_hint = 1
        self._solution_asked = False
        self._solution_seen = False

    def _default_stub(self) -> str:
        return f"{self.answer} = ...  # your answer"

    # -- what the learner calls --------------------------------------------------------------

    def check(self, answer=_NOTHING) -> Outcome:
        """Judge ``answer`` with the public checks and say what was right or wrong with it."""
        if answer is _NOTHING:
            return self._stamp(NotAttempted(f"Pass your answer in: `ex.{self.name}.check("
                                            f"{self.answer})`."))
        outcome = self._run(answer, instructor=False)
        if outcome.status != "not_attempted":
            self._attempts += 1
        if outcome.passed and self.has_instructor_checks:
            outcome.message = f"{outcome.message}\n\n{INSTRUCTOR_NOTE}".strip()
        return outcome

    def grade(self, answer) -> Outcome:
        """Judge ``answer`` with every check, the instructor-only ones included."""
        return self._run(answer, instructor=True)

    def hint(self, n: int | None = None) -> Message:
        """The next hint on the ladder, or hint ``n`` (1 is a nudge, the last nearly the answer)."""
        total = len(self.hints)
        if total == 0:
            return self._stamp(Notice("This exercise has no hints."))
        if n is None:
            n = min(self._next_hint, total)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= total:
            return self._stamp(Notice(f"{self.name} has {total} hints: `hint(1)` … "
                                      f"`hint({total})`; got {n!r}."))
        self._next_hint = max(self._next_hint, n + 1)
        text = self.hints[n - 1]
        if n == total:
            text += f"\n\nThat was the last hint. `ex.{self.name}.solution()` shows the answer."
        return Hint(text, n, total, exercise=self.id)

    def solution(self, confirm: bool = False) -> Message:
        """The reference solution. Before any attempt it asks once for confirmation."""
        if os.environ.get("SCALELAB_MODE", "").strip().lower() == "assigned":
            return self._stamp(Notice("Solutions are turned off for this assignment "
                                      "(SCALELAB_MODE=assigned). Hints still work: "
                                      f"`ex.{self.name}.hint()`."))
        if not confirm and self._attempts == 0 and not self._solution_asked:
            self._solution_asked = True
            return self._stamp(Notice(
                f"You have not checked an answer to {self.name} yet. Trying first — with "
                f"`ex.{self.name}.hint()` if you are stuck — is how it sticks. To see the "
                f"solution anyway, run `ex.{self.name}.solution()` again (or "
                f"`ex.{self.name}.solution(confirm=True)`)."))
        self._solution_seen = True
        return Solution(self.explanation, details=self.solution_code, exercise=self.id)

    # -- judging -----------------------------------------------------------------------------

    def _run(self, answer, instructor: bool) -> Outcome:
        if answer is ...:
            outcome = NotAttempted(f"Replace `...` in `{self.answer} = ...` with your answer, "
                                   "then run the cell again.")
        else:
            outcome = self._judge(answer, instructor)
        if outcome.passed and self._solution_seen and not instructor:
            outcome.message += " (You had looked at the solution.)"
        return self._stamp(outcome)

    def _judge(self, answer, instructor: bool) -> Outcome:
        raise NotImplementedError

    def _stamp(self, message: Message) -> Message:
        message.exercise = self.id
        return message

    # -- for lessons, builds and the guide ---------------------------------------------------

    def markdown(self, number: int | None = None) -> str:
        """The prompt cell: a heading, the question and how it is checked."""
        number = number if number is not None else self.name.lstrip("q")
        worth = "not graded" if not self.points else \
            f"{self.points:g} point{'s' if self.points != 1 else ''}"
        return f"### Exercise {number} · {self.title} ({worth})\n\n{self.prompt}"

    def cell_source(self) -> str:
        """The learner's code cell: the stub, then the check."""
        return (f"{self.stub}\n\nex.{self.name}.check({self.answer})\n"
                f"# ex.{self.name}.hint()  ·  ex.{self.name}.solution()")

    def describe(self) -> str:
        """What is checked, in one sentence (for the instructor guide)."""
        return self.title

    def __repr__(self) -> str:
        return (f"{self.id or self.title} ({self.kind}, {self.points:g} pt): {self.title}. "
                f"Use ex.{self.name}.check({self.answer}), ex.{self.name}.hint(), "
                f"ex.{self.name}.solution().")


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _as_number(value):
    """A float from a real number or a 0-d numpy array; None if ``value`` is not one."""
    if hasattr(value, "ndim") and getattr(value, "ndim", 1) == 0:
        value = value.item() if hasattr(value, "item") else value
    return float(value) if _is_real(value) else None


class Number(Exercise):
    """A number, right to within ``tolerance`` (absolute, or a fraction of it if ``relative``).

    ``mistakes`` is a list of ``(value, message)``: a typical wrong number and what it
    suggests the learner did ("that is the wait without the work"). Messages never state the
    expected value. A mistake may carry its own tolerance, ``(value, message, tolerance)``
    (absolute, in the answer's units): it is then looked for *before* the answer is accepted,
    so a known wrong reasoning that happens to land inside the tolerance is named, not passed.
    """

    kind = "number"

    def __init__(self, *, expected: float, tolerance: float, relative: bool = False,
                 units: str = "", mistakes=(), **common):
        self.expected, self.tolerance, self.relative = float(expected), tolerance, relative
        self.units, self.mistakes = units, tuple(mistakes)
        super().__init__(**common)
        checked = "exactly" if tolerance == 0 else f"to within {self.tolerance_text()}"
        self.prompt += f"\n\n*Checked {checked}.*"

    def _default_stub(self) -> str:
        unit = f" in {self.units}" if self.units else ""
        return f"{self.answer} = ...  # a number{unit}"

    def tolerance_text(self) -> str:
        if self.tolerance == 0:
            return "exactly"
        if self.relative:
            return f"±{self.tolerance:.0%}" if self.tolerance >= 0.01 else f"±{self.tolerance:%}"
        unit = f" {self.units}" if self.units else ""
        return f"±{self.tolerance:g}{unit}"

    def _close(self, value: float, target: float) -> bool:
        allowed = self.tolerance * abs(target) if self.relative else self.tolerance
        return abs(value - target) <= allowed * (1 + 1e-9) + 1e-12

    def _judge(self, answer, instructor):
        value = _as_number(answer)
        if value is None:
            kind = type(answer).__name__
            hint = " (without quotes)" if isinstance(answer, str) else ""
            return Incorrect(f"`{self.answer}` is {answer!r}, a {kind}: give a number{hint}.")
        if not math.isfinite(value):
            return Incorrect(f"`{self.answer}` is {value}: give a finite number.")
        for wrong, message, *own in self.mistakes:
            if own and abs(value - wrong) <= own[0]:
                return Incorrect(f"You gave {_fmt(value)}{_unit(self.units)}. {message}")
        if self._close(value, self.expected):
            return Correct(f"{_fmt(value)}{_unit(self.units)} is right. {self.explanation}")
        for wrong, message, *own in self.mistakes:
            if not own and self._close(value, wrong):
                return Incorrect(f"You gave {_fmt(value)}{_unit(self.units)}. {message}")
        side = "high" if value > self.expected else "low"
        allowed = "" if self.tolerance == 0 else f" (the check allows {self.tolerance_text()})"
        return Incorrect(f"You gave {_fmt(value)}{_unit(self.units)}: too {side}{allowed}. "
                         f"`ex.{self.name}.hint()` can help.")

    def describe(self) -> str:
        within = "exactly" if self.tolerance == 0 else f"within {self.tolerance_text()}"
        named = len(self.mistakes)
        mistakes = f"; names {named} known wrong answer{'s' * (named != 1)}" if named else ""
        return f"{self.title}: a number, {within}{mistakes}"


class Choice(Exercise):
    """One option out of several; every wrong option has its own feedback."""

    kind = "choice"

    def __init__(self, *, options: dict, correct: str, feedback: dict, **common):
        self.options = {str(k).lower(): v for k, v in options.items()}
        self.correct = correct.lower()
        missing = set(self.options) - {self.correct} - {k.lower() for k in feedback}
        if self.correct not in self.options or missing:
            raise ValueError(f"correct must be an option and every wrong option needs feedback; "
                             f"correct={correct!r}, options without feedback: {sorted(missing)}")
        self.feedback = {k.lower(): v for k, v in feedback.items()}
        super().__init__(**common)
        self.prompt += "\n\n" + "\n".join(f"- **{k})** {v}" for k, v in self.options.items())

    def _letters(self) -> str:
        keys = [f'"{k}"' for k in self.options]
        return ", ".join(keys[:-1]) + " or " + keys[-1]

    def _default_stub(self) -> str:
        return f"{self.answer} = ...  # {self._letters()}"

    def _judge(self, answer, instructor):
        key = re.sub(r"^\(?\s*([a-z0-9]+)\s*[).]?$", r"\1", str(answer).strip().lower()) \
            if isinstance(answer, str) else None
        if key not in self.options:
            return Incorrect(f"`{self.answer}` is {answer!r}; answer with one of "
                             f"{self._letters()} (a string).")
        if key == self.correct:
            return Correct(f"({key}) is right. {self.explanation}")
        return Incorrect(f"({key}): {self.feedback[key]}")

    def describe(self) -> str:
        return f"{self.title}: one of {len(self.options)} options, feedback on each wrong one"


class Prediction(Exercise):
    """A guess written down before an experiment. Not graded, but ``check`` acknowledges it
    (learners otherwise think they missed credit). ``experiment`` is the code cell that
    follows; ``solution()`` tells what happens."""

    kind = "prediction"

    def __init__(self, *, experiment: str = "", points: float = 0, **common):
        self.experiment = experiment.strip("\n")
        super().__init__(points=points, **common)

    def _default_stub(self) -> str:
        return f"{self.answer} = ...  # your prediction"

    def _run(self, answer, instructor):
        if answer is ...:
            return self._stamp(NotAttempted(
                "Write your prediction in place of `...` first: any honest guess counts "
                "(it is not graded)."))
        return self._stamp(Recorded(
            f"Your prediction, {answer!r}, is written down. It is not graded, and there is "
            f"nothing more to earn here: run the next cell and compare."))

    def describe(self) -> str:
        return f"{self.title}: recorded, not graded"


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _unit(units: str) -> str:
    return f" {units}" if units else ""


def register(namespace: dict, lesson: str, notebook: str, title: str) -> list[Exercise]:
    """Give the exercises named ``q1``, ``q2``, … in ``namespace`` their ids
    (``lesson00.q1``) and list them, in order, as ``EXERCISES``; also set ``LESSON``,
    ``NOTEBOOK`` (the lesson's file name) and ``TITLE``."""
    found = sorted(((int(name[1:]), name, value) for name, value in namespace.items()
                    if re.fullmatch(r"q\d+", name) and isinstance(value, Exercise)))
    exercises = []
    for _, name, exercise in found:
        exercise.name, exercise.id = name, f"{lesson}.{name}"
        exercises.append(exercise)
    answers = [e.answer for e in exercises]
    if len(set(answers)) != len(answers):
        raise ValueError(f"{lesson}: answer names must be unique, got {answers}")
    namespace.update(EXERCISES=exercises, LESSON=lesson, NOTEBOOK=notebook, TITLE=title)
    return exercises
