"""Code exercises: the learner writes a function or a policy class, and the check RUNS it.

A code exercise is a list of named behaviour checks. Each check calls the learner's code
through :class:`Runner`, which attributes every crash to the learner (with the traceback
trimmed to their own frames), turns ``NotImplementedError`` from the untouched stub into
"not attempted", and stops code that never returns. A check that finds wrong behaviour
raises :class:`Fail` with what the learner's code *did* — never the expected answer.
Public checks run in ``check``; ``grade`` adds the instructor-only ones: the same properties
on other seeds and traffic, so reading them reveals nothing.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import signal
import sys
import sysconfig
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from ..balancers import Balancer, StandIn
from .outcomes import Correct, Error, Incorrect, NotAttempted, Outcome
from .problem import Exercise

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_DIRS = tuple({os.path.realpath(p) for key in ("stdlib", "platstdlib", "purelib",
                                                        "platlib")
                       if (p := sysconfig.get_paths().get(key))})
PRINT_LINES_SHOWN = 20


class Fail(Exception):
    """A behaviour check failed; the message says what the learner's code did.

    ``check`` names the check whose property was broken when that is another than the one
    running: every call of ``max_rate`` must return a rate, so a negative rate found by a
    later check fails "returns a rate", and the progress list says so."""

    def __init__(self, message: str, check: str | None = None):
        super().__init__(message)
        self.check = check


class Borrowed(BaseException):
    """The learner's code called a built-in the exercise asks them to write themselves. A
    BaseException, so that ``except Exception`` in their code cannot hide it."""

    def __init__(self, message: str):
        super().__init__(message)


class LearnerCrash(BaseException):
    """The learner's code raised while we called it as ``call``. A BaseException, so that a
    suite which catches ``Exception`` (``check_balancer``, the simulator) lets it through to
    the exercise, which reports it with the learner's traceback."""

    def __init__(self, call: str, exc: BaseException):
        super().__init__(call)
        self.call, self.exc = call, exc


class StubNotDone(BaseException):
    """The learner's code raised NotImplementedError: the stub is untouched (or unfinished)."""

    def __init__(self, call: str):
        super().__init__(call)
        self.call = call


class _TimeUp(BaseException):
    """Raised by the alarm; a BaseException so that ``except Exception`` in learner code
    cannot swallow it."""


@dataclass(frozen=True)
class Check:
    """A named behaviour check: ``run(target, runner)`` returns or raises :class:`Fail`."""

    name: str
    run: Callable


class Runner:
    """Calls into the learner's code; remembers the current call for timeout messages."""

    def __init__(self):
        self.last = ""

    def call(self, description: str, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``, with any exception it raises blamed on the learner."""
        self.last = description
        try:
            return fn(*args, **kwargs)
        except (LearnerCrash, StubNotDone, Fail):
            raise
        except NotImplementedError:
            raise StubNotDone(description) from None
        except Exception as exc:  # noqa: BLE001 - whatever it was, it came from their code
            raise LearnerCrash(description, exc) from None


def learner_traceback(exc: BaseException) -> str:
    """``exc``'s traceback with scalelab's, the standard library's and installed packages'
    frames left out: what remains is the learner's own code."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_learners(f.filename)]
    lines = ["Traceback (your code only):"] if frames else []
    for frame in frames:
        lines.append(f'  {_place(frame.filename)}, line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    lines.extend(line.rstrip("\n") for line in traceback.format_exception_only(type(exc), exc))
    return "\n".join(lines)


def _is_learners(filename: str) -> bool:
    if filename.startswith("<") and not filename.startswith(("<ipython-input", "<string>")):
        return False
    path = os.path.realpath(filename)
    return not (path.startswith(_PACKAGE_DIR + os.sep) or path.startswith(_LIBRARY_DIRS))


def _place(filename: str) -> str:
    """IPython's cell files (``/tmp/ipykernel_123/456.py``) read as 'your cell'."""
    if re.search(r"ipykernel_\d+[/\\]\d+\.py$", filename) or filename.startswith("<ipython"):
        return "your notebook cell"
    return f'File "{filename}"'


class _CappedWriter(io.TextIOBase):
    """Keeps the first lines the learner's code prints, and counts the rest."""

    def __init__(self, keep: int = PRINT_LINES_SHOWN):
        self.keep, self.lines, self.total, self._partial = keep, [], 0, ""

    def write(self, text: str) -> int:
        text = self._partial + text
        *complete, self._partial = text.split("\n")
        self.total += len(complete)
        room = self.keep - len(self.lines)
        if room > 0:
            self.lines.extend(line[:300] for line in complete[:room])
        return len(text)

    def report(self) -> str:
        if self._partial:
            self.write("\n")
        if not self.total:
            return ""
        more = f" (first {len(self.lines)} shown)" if self.total > len(self.lines) else ""
        lines = "1 line" if self.total == 1 else f"{self.total} lines"
        return f"Your code printed {lines} while it was checked{more}:\n" + \
            "\n".join(self.lines)


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise _TimeUp in the main thread after ``seconds`` (where signals allow it)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _guarded(own_code):
    """While the checks run, a call into one of the ``own_code`` built-ins from code outside
    scalelab — the learner's — raises :class:`Borrowed` (calls from scalelab itself pass: a
    check may run the built-in to compare)."""
    saved = []
    for owner, name in own_code:
        original = vars(owner)[name]
        saved.append((owner, name, original))
        setattr(owner, name, _guard(original, f"{owner.__name__}.{name}"))
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def _guard(original, label: str):
    @functools.wraps(original)
    def guarded(*args, **kwargs):
        caller = os.path.realpath(sys._getframe(1).f_code.co_filename)
        if not caller.startswith(_PACKAGE_DIR + os.sep):
            raise Borrowed(f"Your code calls the built-in `{label}`: this exercise asks you to "
                           f"write that logic yourself. Replace the call with your own code.")
        return original(*args, **kwargs)
    return guarded


class Code(Exercise):
    """Learner code judged by running it through ``checks`` (public) and
    ``instructor_checks`` (grading only). Subclasses prepare the target in ``_target``."""

    kind = "code"
    has_instructor_checks = True

    def __init__(self, *, checks, instructor_checks, time_limit: float = 20.0,
                 own_code=(), **common):
        self.checks, self.instructor_checks = tuple(checks), tuple(instructor_checks)
        self.time_limit = time_limit
        # built-ins the learner must not call or inherit: (owner, attribute name) pairs
        self.own_code = tuple(own_code)
        super().__init__(**common)

    def _borrowed(self, answer) -> str | None:
        """Why ``answer`` is a built-in rather than the learner's code, or None."""
        for owner, name in self.own_code:
            original = vars(owner)[name]
            found = getattr(answer if isinstance(answer, type) else type(answer), name, None)
            if found is original or getattr(answer, "__func__", answer) is original:
                return (f"`{self.answer}` uses the built-in `{owner.__name__}.{name}` unchanged: "
                        f"this exercise asks for your own `{name}`.")
        return None

    def _target(self, answer):
        """The object the checks receive, or an Outcome when there is nothing to run."""
        return answer

    def _judge(self, answer, instructor: bool) -> Outcome:
        target = self._target(answer)
        if isinstance(target, Outcome):
            return target
        checks = self.checks + (self.instructor_checks if instructor else ())
        runner, printed, done = Runner(), _CappedWriter(), []
        broken = None
        try:
            borrowed = self._borrowed(answer)
            if borrowed:
                raise Borrowed(borrowed)
            with contextlib.redirect_stdout(printed), _time_limit(self.time_limit), \
                    _guarded(self.own_code):
                for check in checks:
                    check.run(target, runner)
                    done.append(check.name)
        except Fail as fail:
            outcome, broken = Incorrect(str(fail)), fail.check
        except Borrowed as borrowed:
            outcome = Incorrect(str(borrowed))
        except StubNotDone as stub:
            outcome = NotAttempted(f"Your code still raises `NotImplementedError` (the "
                                   f"stub's line) when called as `{stub.call}`: replace that "
                                   "line with your code, then run the cell again.")
        except LearnerCrash as crash:
            outcome = Error(f"Your code raised `{type(crash.exc).__name__}` when called as "
                            f"`{crash.call}`. The traceback below shows your lines only.",
                            details=learner_traceback(crash.exc))
        except _TimeUp:
            where = f"; the last call into your code was `{runner.last}`" if runner.last else ""
            outcome = Error(f"Checking took longer than {self.time_limit:g} s{where}: is there "
                            "a loop that never ends?")
        else:
            outcome = Correct(f"All {len(checks)} checks passed.")
        checklist = "" if outcome.status == "not_attempted" else \
            _checklist(checks, done, outcome, broken)
        outcome.details = "\n\n".join(filter(None, [outcome.details, checklist,
                                                   printed.report()]))
        return outcome

    def describe(self) -> str:
        public = "; ".join(c.name for c in self.checks)
        hidden = "; ".join(c.name for c in self.instructor_checks)
        return f"{self.title}: runs the code — {public}" + \
            (f". Grading adds: {hidden}" if hidden else "")


def _checklist(checks, done: list[str], outcome: Outcome, broken: str | None = None) -> str:
    """One line per check: ✓ passed, ✗ failed, ! crashed or timed out, · not judged. A
    failure that broke an earlier check's property (``broken``) marks that check ✗ and
    leaves the running one unjudged, so the list never ticks what the verdict denies."""
    names = [check.name for check in checks]
    failed_at = len(done)
    if broken in names[:len(done)]:
        failed_at = names.index(broken)
    lines = []
    for k, name in enumerate(names):
        if k == failed_at and not outcome.passed:
            mark = "✗" if outcome.status == "fail" else "!"
        elif k < len(done) and k != failed_at:
            mark = "✓"
        else:
            mark = "·"
        lines.append(f"{mark} {name}")
    return "\n".join(lines)


class Function(Code):
    """The learner writes a function; checks call it (through the runner) and judge what it
    returns."""

    kind = "function"

    def _target(self, answer):
        if not callable(answer) or isinstance(answer, type):
            return Incorrect(f"`{self.answer}` is {_short(answer)}, not a function: define it "
                             f"with `def {self.answer}(…):`.")
        return answer


class PolicyClass(Code):
    """The learner writes a policy class (a balancer, an autoscaler); checks build fresh
    instances with ``target()`` and run them. A class or an instance is accepted."""

    kind = "class"

    def __init__(self, *, base: type, **common):
        self.base = base
        super().__init__(**common)

    def _target(self, answer):
        if isinstance(answer, type):
            cls = answer

            def fresh(runner: Runner):
                return runner.call(f"{cls.__name__}()", cls)
            return fresh
        if isinstance(answer, self.base) or hasattr(answer, self._method()):
            instance = answer

            def same(runner: Runner):
                return instance
            return same
        return Incorrect(f"`{self.answer}` is {_short(answer)}: define a class "
                         f"`class {self.answer}(sl.{self.base.__module__.split('.')[-1]}."
                         f"{self.base.__name__}):`.")

    def _method(self) -> str:
        return "pick"


class BalancerSpy(StandIn, Balancer):
    """Stands in for the learner's balancer in a scenario: every call goes through the
    runner (so a crash is theirs), and each pick is recorded with what the balancer saw:
    ``picks`` holds (request id, arrival s, chosen index or None, in-flight counts, health)."""

    def __init__(self, inner, runner: Runner):
        self.inner, self.runner, self.picks = inner, runner, []
        self.name = type(inner).__name__

    def __repr__(self) -> str:
        return f"{self.name}()"

    def reset(self) -> None:
        self.picks = []
        if callable(getattr(self.inner, "reset", None)):
            self.runner.call(f"{self.name}.reset()", self.inner.reset)

    def pick(self, instances, request):
        inflight = tuple(i.inflight for i in instances)
        healthy = tuple(i.healthy for i in instances)
        choice = self.runner.call(f"{self.name}.pick(instances, {request!r})", self.inner.pick,
                                  instances, request)
        index = getattr(choice, "index", choice)
        self.picks.append((request.id, request.arrival, index, inflight, healthy))
        return choice

    def on_start(self, instance, request) -> None:
        if callable(getattr(self.inner, "on_start", None)):
            self.runner.call(f"{self.name}.on_start(instance {instance.index}, {request!r})",
                             self.inner.on_start, instance, request)

    def on_finish(self, instance, request, latency) -> None:
        if callable(getattr(self.inner, "on_finish", None)):
            self.runner.call(f"{self.name}.on_finish(instance {instance.index}, {request!r}, "
                             f"{latency:.4g})", self.inner.on_finish, instance, request, latency)


def builtin_picks() -> tuple[tuple[type, str], ...]:
    """``(policy, "pick")`` for every built-in balancer: what a balancer exercise's
    ``own_code`` forbids."""
    from .. import balancers

    return tuple((cls, "pick") for cls in vars(balancers).values()
                 if isinstance(cls, type) and issubclass(cls, Balancer) and cls is not Balancer
                 and cls.__module__ == balancers.__name__ and "pick" in vars(cls))


def _short(value) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "…"


__all__ = ["BalancerSpy", "Borrowed", "Check", "Code", "Fail", "Function", "LearnerCrash",
           "PolicyClass", "Runner", "StubNotDone", "builtin_picks", "learner_traceback"]
