"""Result: the summary's error split and its utilization, on hand-made records whose answers
are known."""

from __future__ import annotations

import tracemalloc

import numpy as np

import scalelab as sl
from scalelab.result import REQUEST_FIELDS, Result, Status


def records(statuses, http=0) -> np.ndarray:
    rows = np.zeros(len(statuses), dtype=REQUEST_FIELDS)
    rows["arrival"] = np.arange(len(statuses)) * 0.1
    rows["start"], rows["end"] = rows["arrival"], rows["arrival"] + 0.05
    rows["status"], rows["http"] = statuses, http
    return rows


def test_the_error_split_adds_up_to_the_errors_for_every_status():
    statuses = [Status.OK, Status.REJECTED, Status.NO_INSTANCE, Status.FAILED, Status.TIMEOUT,
                Status.STORE_DOWN, Status.FAILED]
    summary = Result(records(statuses), [sl.Instance()], 1.0).summary()
    assert summary["errors"] == 6
    # refused: the two FAILED; timed out: one; the rest a real balancer answers 503
    assert (summary["refused"], summary["timed_out"], summary["http_4xx"],
            summary["http_5xx"]) == (2, 1, 0, 3)


def test_the_split_of_real_answers_follows_their_http_status():
    rows = records([Status.OK, Status.CLIENT_ERROR, Status.CLIENT_ERROR, Status.FAILED,
                    Status.TIMEOUT, Status.FAILED],
                   http=[200, 404, 401, 502, 0, 0])
    summary = Result(rows, [sl.Instance()], 1.0).summary()
    assert (summary["errors"], summary["refused"], summary["timed_out"], summary["http_4xx"],
            summary["http_5xx"]) == (5, 1, 1, 2, 1)


def test_a_huge_slot_count_costs_no_memory_in_the_summary():
    # 10 requests of 0.05 s in 1 s on 10⁹ slots: utilization 0.5 / 10⁹, computed without one
    # row per slot (that was 8 GB)
    big = sl.Instance()
    object.__setattr__(big, "slots", 10**9)  # past any limit a constructor may set
    result = Result(records([Status.OK] * 10), [big], 1.0)
    tracemalloc.start()
    summary, series = result.summary(), result.timeline(bin=0.5)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000
    assert np.isclose(summary["utilization"], 0.5 / 1e9)
    assert np.allclose(series["utilization"], 0.25 / (0.5 * 1e9))
