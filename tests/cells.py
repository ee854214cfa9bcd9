"""Running a learner's notebook cell in the tests, as the kernel would."""

import copy
import linecache
import re

import scalelab as sl
from scalelab.exercises import Choice, Number


def run_cell(source: str, name: str):
    """What ``name`` is after a learner's cell ``source`` ran (the lessons import ``sl``).
    The code is registered under a file name like IPython's, so tracebacks show its lines."""
    filename = "/tmp/ipykernel_4242/1234.py"  # where IPython puts a cell's code
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"sl": sl}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - a learner's cell
    return namespace[name]


def gives_away(exercise, message: str) -> bool:
    """Whether a feedback ``message`` states the expected answer of a number or choice exercise."""
    if isinstance(exercise, Number):
        return any(exercise._close(float(text.replace(",", "")), exercise.expected)
                   for text in re.findall(r"-?\d+(?:,\d{3})*(?:\.\d+)?", message))
    if isinstance(exercise, Choice):
        return f"({exercise.correct})" in message or \
            exercise.options[exercise.correct] in message
    return False


def assert_stub_not_attempted(exercise) -> None:
    """The exercise's untouched stub is "not attempted", not wrong."""
    from scalelab.exercises.outcomes import NotAttempted

    outcome = copy.deepcopy(exercise).check(run_cell(exercise.stub, exercise.answer))
    assert isinstance(outcome, NotAttempted), outcome


def assert_reference_passes(exercise) -> None:
    """The exercise's reference solution is correct, and passes grading too."""
    from scalelab.exercises.outcomes import Correct

    answer = run_cell(exercise.solution_code, exercise.answer)
    assert isinstance(copy.deepcopy(exercise).check(answer), Correct)
    assert exercise.grade(answer).passed


def assert_wrong_answer_explained(exercise, source: str) -> None:
    """A known wrong answer fails with a real explanation that does not give the answer away."""
    from scalelab.exercises.outcomes import Incorrect

    outcome = copy.deepcopy(exercise).check(run_cell(source, exercise.answer))
    assert isinstance(outcome, Incorrect), outcome
    assert len(outcome.message) > 30
    assert not gives_away(exercise, outcome.message), outcome.message
