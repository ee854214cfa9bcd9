"""Running a learner's notebook cell in the tests, as the kernel would."""

import linecache

import scalelab as sl


def run_cell(source: str, name: str):
    """What ``name`` is after a learner's cell ``source`` ran (the lessons import ``sl``).
    The code is registered under a file name like IPython's, so tracebacks show its lines."""
    filename = "/tmp/ipykernel_4242/1234.py"  # where IPython puts a cell's code
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"sl": sl}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - a learner's cell
    return namespace[name]
