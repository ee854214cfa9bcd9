"""Fast paths for the built-in least-loaded policies on plain runs: nothing but routing and
single-slot FIFO queues, every instance healthy the whole time.

Each kernel makes exactly the picks the policy's own ``pick`` would make — same tie-breaks,
same random draws — without the per-request objects and hooks the general loop needs, so a
request costs a few list operations. ``sim`` uses one only for the exact built-in class (a
subclass may override ``pick``) and checks the result against the general loop in the tests.
Times in seconds.
"""

from __future__ import annotations

import heapq
from collections import deque

import numpy as np

from .balancers import JoinShortestQueue, LeastConnections, PowerOfTwoChoices, _Draws

SMALL = 64  # up to this many instances, a scan of the in-flight counts beats any index


def kernel_for(balancer, specs):
    """The kernel that replaces ``balancer.pick`` for these instances, or None."""
    if any(spec.slots != 1 for spec in specs):
        return None
    if type(balancer) is PowerOfTwoChoices:
        return _power_of_two
    if type(balancer) is JoinShortestQueue and len(specs) <= SMALL:
        return _shortest_queue
    if type(balancer) is LeastConnections and len(specs) <= SMALL \
            and len({spec.weight for spec in specs}) == 1:
        return _least_connections
    return None


def _power_of_two(balancer, arrivals, work, rates):
    """Envoy's least request with two draws: the second draw wins only with strictly fewer
    in flight. An instance's in-flight count is its queue of pending finish times, emptied
    lazily of those at or before the arrival — only the two candidates are looked at."""
    n, m = len(arrivals), len(rates)
    if not hasattr(balancer, "_draws"):
        balancer.reset()
    draws = _draws(balancer._draws, 2 * n)
    first, second = ((draws * m) >> 32).reshape(n, 2).T.tolist()
    pending = [deque() for _ in range(m)]
    last = [0.0] * m
    start, end, where = [], [], []
    for t, a, b, w in zip(arrivals.tolist(), first, second, work):
        qa, qb = pending[a], pending[b]
        while qa and qa[0] <= t:
            qa.popleft()
        while qb and qb[0] <= t:
            qb.popleft()
        j = b if len(qb) < len(qa) else a
        begin = t if t > last[j] else last[j]
        finish = begin + w * rates[j]
        last[j] = finish
        pending[j].append(finish)
        start.append(begin)
        end.append(finish)
        where.append(j)
    return start, end, where


def _draws(source: _Draws, count: int) -> np.ndarray:
    """The next ``count`` raw draws of a policy's :class:`_Draws`, consumed as ``below`` would
    consume them (blocks of the same size from the same generator)."""
    taken = source.values[source.next:]
    blocks = [np.array(taken, dtype=np.uint64)]
    have = len(taken)
    while have < count:
        block = source.rng.integers(0, 1 << 32, source._BLOCK, dtype=np.uint64)
        blocks.append(block)
        have += len(block)
    values = np.concatenate(blocks)
    rest = values[count:]
    source.values, source.next = rest.tolist(), 0
    return values[:count]


def _shortest_queue(balancer, arrivals, work, rates):
    """Join the shortest queue: the fewest in flight, the lowest index on ties."""
    return _least_loaded(arrivals, work, rates, nginx_ties=False)


def _least_connections(balancer, arrivals, work, rates):
    """NGINX ``least_conn`` with equal weights: the fewest in flight; ties broken by smooth
    weighted round-robin among the tied instances (their ``current_weight`` persists across
    picks, as in ``ngx_http_upstream_get_least_conn_peer``)."""
    return _least_loaded(arrivals, work, rates, nginx_ties=True)


def _least_loaded(arrivals, work, rates, nginx_ties: bool):
    """In-flight counts kept exact by one heap of finish times; a scan of at most ``SMALL``
    counts finds the fewest."""
    n, m = len(arrivals), len(rates)
    counts = [0] * m
    current = [0] * m
    last = [0.0] * m
    finishing: list[tuple[float, int]] = []
    pop, push = heapq.heappop, heapq.heappush
    start, end, where = [0.0] * n, [0.0] * n, [0] * n
    for i, t in enumerate(arrivals.tolist()):
        while finishing and finishing[0][0] <= t:
            counts[pop(finishing)[1]] -= 1
        fewest = min(counts)
        j = counts.index(fewest)
        if nginx_ties and counts.count(fewest) > 1:  # NGINX's tie loop
            best, total = j, 0
            for k in range(j, m):
                if counts[k] != fewest:
                    continue
                current[k] += 1
                total += 1
                if current[k] > current[best]:
                    best = k
            current[best] -= total
            j = best
        begin = t if t > last[j] else last[j]
        finish = begin + work[i] * rates[j]
        last[j] = finish
        counts[j] += 1
        push(finishing, (finish, j))
        start[i], end[i], where[i] = begin, finish, j
    return start, end, where
