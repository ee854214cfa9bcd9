"""The simulator's general loop: every policy, every feature — several slots per instance,
bounded queues, failures and health checks, sessions, the autoscaler's control loop — with
the policy's ``pick`` and hooks called for every request (``sim`` decides when a fast path
may stand in for it).

Service is FIFO, so a request's finish time is fixed when it is sent: the loop walks the
arrivals in time order and, before each one, handles the answers and events due by then
(a heap of departures and a heap of timed events; ties break in scheduling order, so runs
repeat exactly). Times in seconds.
"""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

from .autoscalers import Observation
from .config import ClusterConfig
from .failures import Crash, Hang, Pause, ProbeCounts, Slowdown, end_of_work
from .result import REQUEST_FIELDS, Status
from .routing import checked_desired, checked_pick, hook, record_latency
from .views import ClusterState, InstancesView, InstanceView, Request, pick_avoiding

ERROR_PAUSE = 0.1  # s a closed-loop user waits after an instant error when it does not think
DEFAULT_HANG_TIMEOUT = 30.0  # s a client waits on a hung instance when no timeout is given


class Loop:
    """One pass over ``workload``'s arrivals (with ``work`` seconds each at speed 1) through
    the cluster ``config`` describes; ``run()`` returns (records, lifetimes, log). Timed
    events (control steps, probes) run up to ``horizon`` s (default: the last arrival)."""

    def __init__(self, config: ClusterConfig, workload, work, horizon: float | None = None):
        specs = config.instances
        self.config = config
        self.workload, self.work = workload, work.tolist()
        self.specs = list(specs)
        self.balancer = config.balancer
        self.queue_limit, self.retries = config.queue_limit, config.retries
        self.hang_timeout = DEFAULT_HANG_TIMEOUT if config.timeout is None else config.timeout
        self.health_check, self.sessions = config.health_check, config.sessions
        self.scaling = config.autoscaler is not None
        arrivals = workload.arrivals
        self.horizon = horizon if horizon is not None else \
            float(arrivals[-1]) if len(arrivals) else 0.0
        self.state = ClusterState([s.speed for s in specs], [s.weight for s in specs])
        self.view = InstancesView(self.state)
        self.slot_free = [[0.0] * s.slots for s in specs]
        self.alive = [True] * len(specs)
        self.hung = [False] * len(specs)
        self.slow = [1.0] * len(specs)
        self.pauses: list[list[Pause]] = [[] for _ in specs]
        self.in_service = [True] * len(specs)   # False while booting or once removed
        self.probes = None if self.health_check is None else \
            ProbeCounts(self.health_check, len(specs))
        self.lifetimes = [[0.0, 0.0, math.inf] for _ in specs]  # launch, ready, removed
        self.departures: list[tuple[float, int, int]] = []
        self.requests: dict[int, Request] = {}
        self.events: list[tuple[float, int, object, tuple]] = []
        self._sequence = itertools.count()
        self.log: list[tuple[float, int, str]] = []
        n = len(workload)
        self.start, self.end, self.service = [0.0] * n, [0.0] * n, [0.0] * n
        self.instance, self.status, self.tries = [-1] * n, [int(Status.OK)] * n, [0] * n
        self.lost = [False] * n
        self.on_start = hook(self.balancer, "on_start")
        self.on_finish = hook(self.balancer, "on_finish")
        self.busy_done = 0.0        # service seconds of every answered request so far
        self.arrived = 0
        self.recent_latencies: list[float] = []
        self.sends: list[tuple[float, int]] | None = None  # closed loop: users' next sends
        if self.sessions is not None:
            self.sessions.reset(len(specs))
        for failure in config.failures:
            self._schedule_failure(failure)
        if self.health_check is not None:
            self._schedule(self.health_check.interval, self._probe_all)
        if self.scaling:
            self._schedule(config.control_interval, self._control, 0.0)

    # -- the main pass ---------------------------------------------------------------------

    def run(self, streamlined: bool = False):
        """Open loop: replay the workload's arrival times, whatever the cluster does.
        ``streamlined``: the run is routing and queueing only (``ClusterConfig.routing_only``,
        no autoscaler), and takes :meth:`_run_streamlined`, the same steps inlined."""
        arrivals = self.workload.arrivals
        n = len(arrivals)
        users = [None] * n if self.workload.user is None else self.workload.user.tolist()
        costs = [1.0] * n if self.workload.cost is None else self.workload.cost.tolist()
        if streamlined:
            self._run_streamlined(arrivals.tolist(), users, costs)
        else:
            departures, events = self.departures, self.events
            for i, t in enumerate(arrivals.tolist()):
                if (departures and departures[0][0] <= t) or (events and events[0][0] <= t):
                    self._advance(t)
                self.arrived += 1
                self._dispatch(Request(i, t, users[i], costs[i]))
        self._advance(math.inf)
        return self._records(arrivals, self.workload.user), np.array(self.lifetimes), self.log

    def _run_streamlined(self, times: list[float], users: list, costs: list) -> None:
        """:meth:`run`'s pass with every per-request step inlined, for runs of nothing but
        routing and queueing — the same calls and the same result, about twice as fast."""
        pick, view, items = self.balancer.pick, self.view, self.view._items
        on_start, on_finish = self.on_start, self.on_finish
        inflight, latencies = self.state.inflight, self.state.latency
        slot_free, work = self.slot_free, self.work
        speed = [spec.speed for spec in self.specs]
        start_of, end_of = self.start, self.end
        service_of, instance_of = self.service, self.instance
        departures, requests = self.departures, self.requests
        n_instances = len(self.specs)
        pop, push, replace = heapq.heappop, heapq.heappush, heapq.heapreplace
        for i, t in enumerate(times):
            while departures and departures[0][0] <= t:
                end, k, j = pop(departures)
                inflight[j] -= 1
                request = requests.pop(k)
                latency = end - request.arrival
                record_latency(latencies, j, latency)
                if on_finish:
                    on_finish(items[j], request, latency)
            request = Request(i, t, users[i], costs[i])
            choice = pick(view, request)
            if type(choice) is InstanceView:
                j = choice.index
            else:
                j = checked_pick(choice, n_instances, self.balancer)
                if j is None:
                    self._refuse(i, t, Status.NO_INSTANCE)
                    continue
            instance_of[i] = j
            slots = slot_free[j]
            start = t if t > slots[0] else slots[0]
            service = work[i] / speed[j]  # as _dispatch and the kernels compute it
            end = start + service
            replace(slots, end)
            start_of[i], end_of[i], service_of[i] = start, end, service
            inflight[j] += 1
            requests[i] = request
            push(departures, (end, i, j))
            if on_start:
                on_start(items[j], request)
        self.busy_done = sum(service_of)

    def run_closed(self, users: int, think_time: float, duration: float, draw_work, rng):
        """Closed loop: ``users`` each send a request, wait for the answer (or the error),
        think ``think_time`` seconds, and send the next, until ``duration``. Work per request
        comes from ``draw_work(n)``; ``rng`` staggers the users' first sends."""
        self.think_time = think_time
        starts = rng.uniform(0, think_time, users) if think_time else np.zeros(users)
        self.sends = [(float(t), u) for u, t in enumerate(starts)]
        heapq.heapify(self.sends)
        self.work, self.arrival_times, self.user_of = [], [], []
        buffer: list[float] = []
        sends, departures, events = self.sends, self.departures, self.events
        while True:
            next_send = sends[0][0] if sends else math.inf
            next_other = min(departures[0][0] if departures else math.inf,
                             events[0][0] if events else math.inf)
            if min(next_send, next_other) >= duration:
                break
            if next_other <= next_send:
                self._advance(next_other)  # answers schedule their users' next sends
                continue
            t, user = heapq.heappop(sends)
            if not buffer:
                buffer = draw_work(4096).tolist()[::-1]
            i = len(self.arrival_times)
            self.work.append(buffer.pop())
            self.arrival_times.append(t)
            self.user_of.append(user)
            for values, value in ((self.start, 0.0), (self.end, 0.0), (self.service, 0.0),
                                  (self.instance, -1), (self.status, int(Status.OK)),
                                  (self.tries, 0), (self.lost, False)):
                values.append(value)
            self.arrived += 1
            self._dispatch(Request(i, t, user))
            if i not in self.requests:  # refused at once: think (at least a moment), retry
                heapq.heappush(sends, (t + max(think_time, ERROR_PAUSE), user))
        self._advance(math.inf)
        arrivals = np.array(self.arrival_times)
        return self._records(arrivals, self.user_of), np.array(self.lifetimes), self.log

    def _records(self, arrivals, users) -> dict:
        """The records' columns (``users``: an array, or None when requests have none)."""
        columns = {"arrival": arrivals}
        for name in ("start", "end", "service", "instance", "status"):
            columns[name] = np.array(getattr(self, name), dtype=REQUEST_FIELDS[name])
        if any(self.tries):
            columns["retries"] = np.array(self.tries, dtype=REQUEST_FIELDS["retries"])
        if any(self.lost):
            columns["lost_session"] = np.array(self.lost, dtype=bool)
        if users is not None:
            columns["user"] = np.asarray(users, dtype=np.int64)
        return columns

    def _advance(self, t: float) -> None:
        """Handle, in time order, every answer and event at or before ``t``."""
        departures, events = self.departures, self.events
        while departures or events:
            next_departure = departures[0][0] if departures else math.inf
            next_event = events[0][0] if events else math.inf
            if next_departure <= next_event:
                if next_departure > t:
                    return
                self._finish(*heapq.heappop(departures))
            else:
                if next_event > t:
                    return
                when, _, action, args = heapq.heappop(events)
                action(when, *args)

    # -- what the epoch runner (``epochs.run``) asks and tells --------------------------------

    def next_event_time(self) -> float:
        """When the next timed event (control step, instance ready, …) is due; inf if none."""
        return self.events[0][0] if self.events else math.inf

    def run_next_event(self) -> None:
        """Handle the next timed event with this loop's own handler."""
        when, _, action, args = heapq.heappop(self.events)
        action(when, *args)

    def serving(self) -> list[int]:
        """The instances taking traffic now, by index."""
        return [j for j, healthy in enumerate(self.state.healthy) if healthy]

    def catch_up(self, arrived: int, latencies: np.ndarray, service: np.ndarray,
                 inflight: np.ndarray, queue_ends: dict[int, float]) -> None:
        """Take over what a fast path routed since the last event, as if this loop had routed
        it: ``arrived`` more arrivals; the ``latencies`` and ``service`` seconds of the
        requests answered since, in the order this loop answers them (by end, then arrival);
        each instance's ``inflight`` count; when each serving instance's queue empties."""
        self.arrived += arrived
        self.recent_latencies.extend(latencies.tolist())
        running = np.cumsum(np.concatenate([[self.busy_done], service]))
        self.busy_done = float(running[-1])  # summed one by one, as the loop sums
        self.state.inflight[:] = inflight.tolist()
        for j, end in queue_ends.items():
            self.slot_free[j] = [max(self.slot_free[j][0], end)]

    def outcome(self) -> tuple[np.ndarray, list]:
        """(lifetimes, log): each instance's launch, ready and removal times, and the events."""
        return np.array(self.lifetimes), self.log

    # -- sending a request -----------------------------------------------------------------

    def _dispatch(self, request: Request, now: float | None = None,
                  tried: list[int] | None = None) -> None:
        """Send ``request`` at ``now`` (its arrival unless it is being resent), avoiding the
        instances in ``tried``; latency still counts from the arrival."""
        i = request.id
        t = request.arrival if now is None else now
        tried = [] if tried is None else tried
        while True:
            j = self._choose(request, tried)
            if j is None:
                self._refuse(i, t, Status.NO_INSTANCE)
                return
            self.instance[i] = j
            if self.alive[j]:
                break
            self._refuse(i, t, Status.FAILED)  # connection refused
            if self.tries[i] >= self.retries:
                return
            tried.append(j)
            self.tries[i] += 1
        self.status[i] = Status.OK
        spec = self.specs[j]
        if self.queue_limit is not None and \
                self.state.inflight[j] - spec.slots >= self.queue_limit:
            self._refuse(i, t, Status.REJECTED)
            return
        extra = 0.0
        if self.sessions is not None and request.user is not None:
            extra, self.lost[i], store_up = self.sessions.on_request(j, request.user, t)
            if not store_up:
                self._refuse(i, t, Status.STORE_DOWN)
                return
        if self.hung[j]:
            end = t + self.hang_timeout
            self.start[i] = self.end[i] = end
            self.status[i] = Status.TIMEOUT
        else:
            slots = self.slot_free[j]
            start = t if t > slots[0] else slots[0]
            service = self.work[i] / spec.speed * self.slow[j] + extra
            end = start + service
            if self.pauses[j]:
                start = end_of_work(self.pauses[j], start, 0.0)
                end = end_of_work(self.pauses[j], start, service)
            heapq.heapreplace(slots, end)
            self.start[i], self.end[i], self.service[i] = start, end, service
        self.state.inflight[j] += 1
        self.requests[i] = request
        heapq.heappush(self.departures, (end, i, j))
        if self.on_start:
            self.on_start(self.view[j], request)

    def _refuse(self, i: int, t: float, status: Status) -> None:
        self.status[i] = status
        self.start[i] = self.end[i] = t

    def _choose(self, request: Request, tried: list[int]) -> int | None:
        """Ask the policy, hiding the instances this request was already refused by."""
        choice = self.balancer.pick(self.view, request) if not tried else \
            pick_avoiding(self.balancer, self.view, request, tried)
        return checked_pick(choice, len(self.specs), self.balancer)

    # -- requests ending -------------------------------------------------------------------

    def _finish(self, end: float, i: int, j: int) -> None:
        if i not in self.requests or self.end[i] != end:
            return  # superseded: the request already failed, or a hang re-timed it
        request = self._release(i, j, end)
        if self.status[i] == Status.OK:
            latency = end - request.arrival
            self.busy_done += self.service[i]
            self.recent_latencies.append(latency)
            record_latency(self.state.latency, j, latency)

    def _release(self, i: int, j: int, when: float, next_send: bool = True) -> Request:
        self.state.inflight[j] -= 1
        request = self.requests.pop(i)
        if self.on_finish:
            self.on_finish(self.view[j], request, when - request.arrival)
        if self.sends is not None and next_send:
            heapq.heappush(self.sends, (when + self.think_time, request.user))
        return request

    def _held_by(self, j: int) -> list[int]:
        """Requests instance ``j`` holds now (only crashes and hangs ask)."""
        return sorted(i for i in self.requests if self.instance[i] == j)

    # -- failures --------------------------------------------------------------------------

    def _schedule(self, when: float, action, *args) -> None:
        heapq.heappush(self.events, (when, next(self._sequence), action, args))

    def _schedule_failure(self, failure) -> None:
        j = failure.instance
        if isinstance(failure, Crash):
            self._schedule(failure.at, self._crash, j)
            if failure.recover_at is not None:
                self._schedule(failure.recover_at, self._restart, j, "recover")
        elif isinstance(failure, Hang):
            self._schedule(failure.at, self._hang, j)
            if failure.until is not None:
                self._schedule(failure.until, self._restart, j, "unhang")
        elif isinstance(failure, Pause):
            self.pauses[j].append(failure)
        elif isinstance(failure, Slowdown):
            self._schedule(failure.at, self._set_slow, j, failure.factor, "slow")
            if failure.until is not None:
                self._schedule(failure.until, self._set_slow, j, 1.0, "fast")

    def _crash(self, when: float, j: int) -> None:
        self.alive[j] = False
        self.log.append((when, j, "crash"))
        self.slot_free[j] = [math.inf] * self.specs[j].slots
        for i in self._held_by(j):
            self.status[i] = Status.FAILED
            self.start[i] = min(self.start[i], when)
            self.service[i] = max(0.0, when - self.start[i])
            self.end[i] = when
            resend = self.tries[i] < self.retries
            request = self._release(i, j, when, next_send=not resend)
            if resend:  # cut off half-way: resent like a refused connection (idempotent)
                self.tries[i] += 1
                self._dispatch(request, now=when, tried=[j])
        if self.sessions is not None:
            self.sessions.drop_instance(j)

    def _hang(self, when: float, j: int) -> None:
        self.hung[j] = True
        self.log.append((when, j, "hang"))
        for i in self._held_by(j):
            if self.end[i] > when and self.status[i] == Status.OK:
                give_up = max(when, self.requests[i].arrival + self.hang_timeout)
                self.status[i] = Status.TIMEOUT
                self.end[i] = give_up
                heapq.heappush(self.departures, (give_up, i, j))

    def _restart(self, when: float, j: int, kind: str) -> None:
        self.alive[j], self.hung[j] = True, False
        self.slot_free[j] = [when] * self.specs[j].slots
        self.log.append((when, j, kind))

    def _set_slow(self, when: float, j: int, factor: float, kind: str) -> None:
        self.slow[j] = factor
        self.log.append((when, j, kind))

    # -- health checks ---------------------------------------------------------------------

    def _probe_all(self, when: float) -> None:
        check = self.health_check
        for j in range(len(self.specs)):
            if not self.in_service[j]:
                continue
            if self.hung[j]:
                self._schedule(when + check.timeout, self._probe_result, j, False)
            else:
                self._probe_result(when, j, self.alive[j])
        if when + check.interval <= self.horizon:
            self._schedule(when + check.interval, self._probe_all)

    def _probe_result(self, when: float, j: int, success: bool) -> None:
        if not self.in_service[j]:
            return
        healthy = self.probes.record(j, success, self.state.healthy[j])
        if healthy is not None:
            self.state.healthy[j] = healthy
            self.log.append((when, j, "marked up" if healthy else "marked down"))

    # -- autoscaling -----------------------------------------------------------------------

    def _control(self, when: float, busy_before: float) -> None:
        config = self.config
        ready = [j for j in range(len(self.specs))
                 if self.in_service[j] and self.state.healthy[j]]
        warming = [j for j in range(len(self.specs))
                   if not self.in_service[j] and self.lifetimes[j][2] == math.inf]
        slots = sum(self.specs[j].slots for j in ready)
        busy = self.busy_done - busy_before
        observation = Observation(
            time=when, ready=len(ready), warming=len(warming),
            utilization=min(1.0, busy / (config.control_interval * slots)) if slots else math.nan,
            request_rate=self.arrived / config.control_interval,
            queue_length=sum(self.state.inflight),
            min_instances=config.min_instances, max_instances=config.max_instances,
            interval=config.control_interval, latencies=np.array(self.recent_latencies))
        self.arrived, self.recent_latencies = 0, []
        wanted = checked_desired(config.autoscaler, observation, config.min_instances,
                                 config.max_instances)
        current = len(ready) + len(warming)
        for _ in range(wanted - current):
            self._launch(when)
        for _ in range(current - wanted):
            self._retire(when, warming, ready)
        if when + config.control_interval <= self.horizon:
            self._schedule(when + config.control_interval, self._control, self.busy_done)

    def _launch(self, when: float) -> None:
        template = self.specs[0]
        j = self.state.add(template.speed, template.weight)
        self.state.healthy[j] = False
        self.specs.append(template)
        self.slot_free.append([math.inf] * template.slots)
        self.pauses.append([])
        for values, value in ((self.alive, True), (self.hung, False), (self.slow, 1.0),
                              (self.in_service, False)):
            values.append(value)
        if self.probes is not None:
            self.probes.add()
        self.lifetimes.append([when, math.inf, math.inf])
        if self.sessions is not None:
            self.sessions.add_instance()
        self.log.append((when, j, "launch"))
        self._schedule(when + self.config.boot_time, self._ready, j)

    def _ready(self, when: float, j: int) -> None:
        if self.lifetimes[j][2] != math.inf:
            return  # cancelled while booting
        self.in_service[j] = True
        self.state.healthy[j] = True
        self.slot_free[j] = [when] * self.specs[j].slots
        self.lifetimes[j][1] = when
        self.log.append((when, j, "ready"))

    def _retire(self, when: float, warming: list[int], ready: list[int]) -> None:
        """Scale in by one: cancel the newest booting instance, else drain the newest ready one."""
        if warming:
            j = warming.pop()
            self.lifetimes[j][2] = when
            self.log.append((when, j, "cancelled"))
            return
        if not ready:
            return
        j = ready.pop()
        self.in_service[j] = False
        self.state.healthy[j] = False
        drained = max(when, max(self.slot_free[j]) if self.alive[j] else when)
        self.lifetimes[j][2] = drained
        if self.sessions is not None:
            self.sessions.drop_instance(j)
        self.log.append((when, j, "drain"))

