"""HAProxy and NGINX configurations written from the course's policy objects, to run or take away.

>>> import scalelab as sl
>>> text = sl.lab.config.haproxy(sl.balancers.LeastConnections(), ["10.0.0.1:8000",
...                              "10.0.0.2:8000"], health_check=sl.HealthCheck(interval=2))
>>> "balance leastconn" in text
True

Nothing here starts a program: :func:`haproxy` and :func:`nginx` return the text of a complete
configuration file; ``sl.lab.Lab(proxy="haproxy" | "nginx")`` writes it, checks it with the
program itself and runs it. Times in seconds (written as milliseconds); the instances' health
path is ``/health``; a user is named by the ``X-User`` header (``user_header``), as the lab's
clients and load generator send it.

The mapping, built-in policy by policy. Sources: the HAProxy 2.6 Configuration Manual
(doc/configuration.txt: ``balance``, ``hash-type``, ``cookie``, ``retries``, ``retry-on``,
``option redispatch``, ``option httpchk``, server ``check``/``inter``/``fall``/``rise``/
``observe``/``slowstart``) and the NGINX 1.22 ``ngx_http_upstream_module`` and
``ngx_http_proxy_module`` documentation and sources (src/http/modules/ngx_http_upstream_*.c).

======================  =====================================  ================================
policy                  HAProxy 2.6                            NGINX 1.22 (open source)
======================  =====================================  ================================
RoundRobin              ``balance roundrobin``                 round robin (the default)
WeightedRoundRobin      ``balance roundrobin`` + ``weight``    ``weight=`` (the smooth WRR the
                        (same shares, its own order)           class reproduces)
Random                  ``balance random(1)`` (the default     ``random``
                        ``random`` draws 2)
PowerOfTwoChoices       ``balance random(2)``                  ``random two least_conn``
LeastConnections,       ``balance leastconn`` (ties go round   ``least_conn`` (ties: weighted
JoinShortestQueue       robin)                                 round robin)
ConsistentHash          ``balance hdr(X-User)`` +              ``hash $http_x_user consistent``
                        ``hash-type consistent``               (ketama, 160 points per weight)
Sticky(fallback)        ``cookie SRV insert indirect nocache`` no sticky cookie in open source
                        + the fallback's ``balance``           (``sticky`` is NGINX Plus): a
                                                               consistent hash on the user
PeakEWMA                none                                   none (Plus has ``least_time``)
a learner's own class   none: only ``proxy="python"`` runs     none
                        your ``pick()``
======================  =====================================  ================================

``vnodes`` is not carried over: HAProxy and NGINX place their own points on the ring. Without
the user header both hash methods fall back to round robin.

Health checks. HAProxy checks actively: ``option httpchk GET /health`` and on each server
``check inter <interval> fall <unhealthy_threshold> rise <healthy_threshold>`` with ``timeout
check``; ``passive_ejection`` adds ``observe layer4 error-limit 1 on-error mark-down`` (a
refused connection marks the server down at once). HAProxy starts each check ``inter`` after
the previous one ended (src/check.c, ``process_chk_conn``): a dead server is found after about
``fall × inter``, a hung one, whose checks run into ``timeout check``, after about ``fall ×
(inter + timeout)``. NGINX open source has **no active health
checks** (``health_check`` is NGINX Plus): it only counts failed requests, ``max_fails`` of them
within ``fail_timeout`` s take a server out for ``fail_timeout`` s, after which one real request
tries it again. ``max_fails`` is ``unhealthy_threshold`` (1 with ``passive_ejection``) and
``fail_timeout`` is ``interval × unhealthy_threshold`` rounded up to whole seconds (NGINX counts
this time in seconds).

Retries. HAProxy: ``retries <n>`` with ``option redispatch 1`` (each retry goes to another
server), ``retry-on conn-failure empty-response response-timeout``, and ``http-request
disable-l7-retry`` unless the method is idempotent: a refused connection is retried for any
request, a reset or a timeout only for GET, HEAD, PUT, DELETE, OPTIONS, like the python proxy.
NGINX: ``proxy_next_upstream error timeout`` with ``proxy_next_upstream_tries <n + 1>`` (it
counts the first try); without ``non_idempotent`` it does not resend a POST, LOCK or PATCH that
reached a server. Timeouts: HAProxy ``timeout connect``/``timeout server``; NGINX
``proxy_connect_timeout``/``proxy_send_timeout``/``proxy_read_timeout`` (NGINX times each read,
not the whole answer). Slow start: HAProxy ``slowstart``; NGINX only in Plus.
"""

from __future__ import annotations

import math

from .. import _validate
from ..balancers import (
    ConsistentHash,
    JoinShortestQueue,
    LeastConnections,
    PeakEWMA,
    PowerOfTwoChoices,
    Random,
    RoundRobin,
    Sticky,
    WeightedRoundRobin,
)
from ..failures import HealthCheck
from . import _config_args as _args

PROXIES = ("python", "haproxy", "nginx")
IDEMPOTENT = "GET HEAD PUT DELETE OPTIONS"
HEALTH_PATH = "/health"
STICKY_COOKIE = "SRV"
#: HAProxy's own defaults (inter 2 s, fall 3, rise 2) and the simulator's
PRODUCTION_CHECK = HealthCheck()

_HAPROXY_BALANCE = {RoundRobin: "roundrobin", WeightedRoundRobin: "roundrobin",
                    Random: "random(1)", PowerOfTwoChoices: "random(2)",
                    LeastConnections: "leastconn", JoinShortestQueue: "leastconn"}
_NGINX_METHOD = {RoundRobin: None, WeightedRoundRobin: None, Random: "random",
                 PowerOfTwoChoices: "random two least_conn", LeastConnections: "least_conn",
                 JoinShortestQueue: "least_conn"}
_WHY_NOT = {PeakEWMA: "neither HAProxy nor NGINX open source has peak-EWMA (Finagle and "
                      "Linkerd do; NGINX Plus's least_time is the nearest)"}


def supports(balancer) -> tuple[str, ...]:
    """Which proxies can run ``balancer``: always ``"python"``, plus the programs whose own
    configuration can express it (a learner's own class runs only in the python proxy)."""
    kind = type(balancer)
    if kind is Sticky:
        inner = supports(balancer.fallback)
        return ("python",) + tuple(p for p in ("haproxy", "nginx") if p in inner)
    if kind in _HAPROXY_BALANCE or kind is ConsistentHash:
        return PROXIES
    return ("python",)


def haproxy(balancer, backends, *, health_check: HealthCheck | None = PRODUCTION_CHECK,
            retries: int = 1, timeout: float = 2.0, passive_ejection: bool = True,
            slow_start: float | None = None, weights=None, listen: str = "127.0.0.1:8080",
            stats_socket: str | None = None, user_header: str = "X-User",
            retries_header: bool = False) -> str:
    """An HAProxy 2.6 configuration that balances ``backends`` (``"host:port"`` strings,
    ``(host, port)`` pairs or ports on 127.0.0.1) the way ``balancer`` does.

    ``health_check`` (None: no checks), ``retries`` (attempts on another server after a
    failure), ``timeout`` (s per attempt), ``passive_ejection``, ``slow_start`` (s to full
    weight after a server comes back), ``weights`` (one whole number per backend) and
    ``stats_socket`` (a unix socket path for the runtime API, ``show stat``) as described in
    this module; ``retries_header`` tells the client how many retries its request took
    (``X-Retries``, HAProxy's ``%rc``), as the python proxy does. Run it with
    ``haproxy -f FILE`` (``-db`` to stay in the foreground).
    """
    servers = _args.servers(backends)
    check = _args.health_check(health_check)
    retries = _validate.integer("retries", retries, minimum=0)
    timeout = _validate.positive("timeout", timeout)
    weights = _args.whole_weights(balancer, weights, len(servers), maximum=256)
    lines = _header("HAProxy 2.6", balancer, "haproxy")
    lines += ["global", "    maxconn 4096"]
    if stats_socket is not None:
        lines.append(f"    stats socket {stats_socket} mode 600 level admin")
    lines += ["", "defaults", "    mode http", f"    timeout connect {_args.ms(timeout)}",
              f"    timeout server {_args.ms(timeout)}", "    timeout client 30s",
              "    timeout http-keep-alive 30s", f"    retries {retries}"]
    if check is not None:
        lines.append(f"    timeout check {_args.ms(check.timeout)}")
    if retries:
        lines += ["    option redispatch 1",
                  "    retry-on conn-failure empty-response response-timeout"]
    lines += ["", "frontend web", f"    bind {_args.address(listen, 'listen')}",
              "    default_backend app", "", "backend app"]
    lines += [f"    {line}" for line in _haproxy_balance(balancer, user_header)]
    if retries:
        lines.append(f"    http-request disable-l7-retry unless {{ method {IDEMPOTENT} }}")
    if retries_header:
        lines.append("    http-response set-header X-Retries %rc")
    if check is not None:
        lines.append(f"    option httpchk GET {HEALTH_PATH}")
    sticky = type(balancer) is Sticky
    slow_start = None if slow_start is None else _validate.positive("slow_start", slow_start)
    for k, address in enumerate(servers):
        weight = None if weights is None else weights[k]
        options = haproxy_server_options(k, check, passive_ejection, weight, slow_start, sticky)
        lines.append(f"    server s{k} {address} {options}".rstrip())
    return "\n".join(lines) + "\n"


def haproxy_server_options(k: int, check: HealthCheck | None, passive_ejection: bool,
                           weight: int | None, slow_start: float | None, sticky: bool) -> str:
    """What follows ``server sK ADDRESS`` on server ``k``'s line (also what the runtime API's
    ``add server`` takes, less ``cookie``)."""
    options = []
    if sticky:
        options.append(f"cookie s{k}")
    if weight is not None:
        options.append(f"weight {weight}")
    if check is not None:
        options.append(f"check inter {_args.ms(check.interval)} fall {check.unhealthy_threshold} "
                       f"rise {check.healthy_threshold}")
        if passive_ejection:
            options.append("observe layer4 error-limit 1 on-error mark-down")
    if slow_start is not None:
        options.append(f"slowstart {_args.ms(slow_start)}")
    return " ".join(options)


def _haproxy_balance(balancer, user_header: str) -> list[str]:
    kind = type(balancer)
    if kind is Sticky:
        return (_haproxy_balance(_fallback(balancer, "haproxy"), user_header)
                + [f"cookie {STICKY_COOKIE} insert indirect nocache"])
    if kind is ConsistentHash:
        return [f"balance hdr({_args.header_name(user_header)})", "hash-type consistent"]
    if kind in _HAPROXY_BALANCE:
        return [f"balance {_HAPROXY_BALANCE[kind]}"]
    raise _unsupported(balancer, "haproxy")


def nginx(balancer, backends, *, health_check: HealthCheck | None = PRODUCTION_CHECK,
          retries: int = 1, timeout: float = 2.0, passive_ejection: bool = True,
          slow_start: float | None = None, weights=None, listen: str = "127.0.0.1:8080",
          runtime_dir: str | None = None, user: str | None = None,
          user_header: str = "X-User", down=()) -> str:
    """An NGINX 1.22 (open source) ``nginx.conf`` that balances ``backends`` the way
    ``balancer`` does; arguments as for :func:`haproxy`.

    NGINX open source checks health only passively (``max_fails``/``fail_timeout``: see this
    module) and has no sticky cookie (``Sticky`` becomes a consistent hash on the user) and no
    slow start (``slow_start`` raises ValueError). ``runtime_dir`` puts the pid file, the error
    log and the temporary files there and keeps NGINX in the foreground (``daemon off``), as
    the lab runs it; ``user`` names the account the workers run as (only when started as root);
    ``down`` lists backends (by position) taken out of service.
    """
    servers = _args.servers(backends)
    check = _args.health_check(health_check)
    retries = _validate.integer("retries", retries, minimum=0)
    timeout = _validate.positive("timeout", timeout)
    if slow_start is not None:
        raise ValueError(f"slow_start={slow_start!r}: NGINX open source has no slow start "
                         "(the server parameter slow_start is NGINX Plus only); use "
                         "haproxy(…, slow_start=…) or slow_start=None")
    weights = _args.whole_weights(balancer, weights, len(servers), maximum=None)
    method = _nginx_method(balancer, user_header)
    lines = _header("NGINX 1.22 (open source)", balancer, "nginx")
    if type(balancer) is Sticky:
        lines.append("# NGINX open source has no sticky cookie (sticky is NGINX Plus): a "
                     "consistent hash on the user keeps each user on one server instead")
    if user is not None:
        lines.append(f"user {user};")
    lines.append("worker_processes 1;")
    if runtime_dir is not None:
        lines += ["daemon off;", f"pid {runtime_dir}/nginx.pid;",
                  f"error_log {runtime_dir}/nginx-error.log warn;"]
    lines += ["events { worker_connections 1024; }", "", "http {", "    access_log off;"]
    if runtime_dir is not None:
        lines += [f"    {kind}_temp_path {runtime_dir}/nginx-{kind};"
                  for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")]
    lines += ["    upstream app {", "        zone app 64k;"]
    if method is not None:
        lines.append(f"        {method};")
    if check is None:
        failures = "max_fails=0"
    else:
        most = 1 if passive_ejection else check.unhealthy_threshold
        seconds = math.ceil(check.interval * check.unhealthy_threshold)
        failures = f"max_fails={most} fail_timeout={seconds}s"
    for k, address in enumerate(servers):
        weight = "" if weights is None else f" weight={weights[k]}"
        out = " down" if k in down else ""
        lines.append(f"        server {address}{weight} {failures}{out};")
    lines += ["        keepalive 64;", "    }", "    server {",
              f"        listen {_args.address(listen, 'listen')};", "        location / {",
              "            proxy_pass http://app;", "            proxy_http_version 1.1;",
              '            proxy_set_header Connection "";',
              f"            proxy_connect_timeout {_args.ms(timeout)};",
              f"            proxy_send_timeout {_args.ms(timeout)};",
              f"            proxy_read_timeout {_args.ms(timeout)};"]
    if retries:
        lines += ["            proxy_next_upstream error timeout;",
                  f"            proxy_next_upstream_tries {retries + 1};"]
    else:
        lines.append("            proxy_next_upstream off;")
    lines += ["        }", "    }", "}"]
    return "\n".join(lines) + "\n"


def _nginx_method(balancer, user_header: str) -> str | None:
    kind = type(balancer)
    if kind is Sticky:
        _fallback(balancer, "nginx")
        kind = ConsistentHash
    if kind is ConsistentHash:
        variable = "$http_" + _args.header_name(user_header).lower().replace("-", "_")
        return f"hash {variable} consistent"
    if kind in _NGINX_METHOD:
        return _NGINX_METHOD[kind]
    raise _unsupported(balancer, "nginx")


# -- checks and formatting ---------------------------------------------------------------------

NAMES = {"haproxy": "an HAProxy", "nginx": "an NGINX"}


def _unsupported(balancer, program: str) -> TypeError:
    kind = type(balancer)
    name = kind.__name__
    where = ", ".join(f"proxy={p!r}" for p in supports(balancer))
    why = _WHY_NOT.get(kind)
    if why is None and kind.__module__.startswith("scalelab."):
        why = f"{program} has no equivalent of {name}"
    elif why is None:
        why = (f"{name} is your own class: {program} cannot run Python, so only the "
               "python proxy calls your pick()")
    return TypeError(f"balancer {name}() cannot be written as {NAMES[program]} configuration: "
                     f"{why}. It runs with {where}. {program} can run: "
                     f"{', '.join(_expressible(program))}")


def _expressible(program: str) -> list[str]:
    names = [k.__name__ + "()" for k in (RoundRobin, WeightedRoundRobin, Random,
                                         PowerOfTwoChoices, LeastConnections,
                                         JoinShortestQueue, ConsistentHash)]
    return names + ["Sticky(fallback)" if program == "haproxy" else
                    "Sticky(fallback) (as a consistent hash)"]


def _fallback(balancer, program: str):
    fallback = balancer.fallback
    if type(fallback) is Sticky or program not in supports(fallback):
        raise TypeError(f"Sticky(fallback={fallback!r}) cannot be written as {NAMES[program]} "
                        f"configuration: the fallback must be one of "
                        f"{', '.join(_expressible(program)[:-1])}")
    return fallback


def _header(program: str, balancer, key: str) -> list[str]:
    return [f"# {program} configuration written by scalelab for {balancer!r}",
            f"# check it with: {'haproxy -c -f FILE' if key == 'haproxy' else 'nginx -t -c FILE'}",
            ""]
