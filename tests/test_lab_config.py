"""HAProxy and NGINX configurations from the policy objects: every one the programs' own checks
accept (``haproxy -c``, ``nginx -t``), the directives the manuals name for each policy, and
errors that say which proxies can run what a program cannot express."""

from __future__ import annotations

import itertools
import subprocess

import pytest
from proxies import require

import scalelab as sl
from scalelab.lab import config

b = sl.balancers
BUILT_IN = [b.RoundRobin(), b.WeightedRoundRobin([3, 1, 2]), b.Random(seed=1),
            b.PowerOfTwoChoices(seed=1), b.LeastConnections(), b.JoinShortestQueue(),
            b.ConsistentHash(vnodes=50), b.Sticky(), b.Sticky(fallback=b.LeastConnections())]
OPTIONS = [  # health check, retries, passive ejection, weights
    {"health_check": sl.HealthCheck(), "retries": 1, "passive_ejection": True},
    {"health_check": None, "retries": 0, "passive_ejection": False},
    {"health_check": sl.HealthCheck(interval=0.5, timeout=0.2, unhealthy_threshold=2,
                                    healthy_threshold=1), "retries": 2, "timeout": 0.5,
     "passive_ejection": False, "weights": [1, 2, 5]},
]
BACKENDS = ["127.0.0.1:8001", ("127.0.0.1", 8002), 8003]


def haproxy_check(text: str, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "haproxy.cfg"
    path.write_text(text)
    return subprocess.run([require("haproxy"), "-c", "-f", str(path)], capture_output=True,
                          text=True, timeout=30)


def nginx_check(text: str, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "nginx.conf"
    path.write_text(text)
    return subprocess.run([require("nginx"), "-t", "-c", str(path), "-p", str(tmp_path),
                           "-e", str(tmp_path / "error.log")], capture_output=True, text=True,
                          timeout=30)


@pytest.mark.parametrize(("balancer", "options"), list(itertools.product(BUILT_IN, OPTIONS)),
                         ids=lambda v: type(v).__name__ if not isinstance(v, dict) else
                         f"retries{v['retries']}-check{v['health_check'] is not None}")
def test_every_haproxy_configuration_passes_haproxys_own_check(balancer, options, tmp_path):
    text = config.haproxy(balancer, BACKENDS, slow_start=10, listen="127.0.0.1:18080",
                          retries_header=True,
                          stats_socket=str(tmp_path / "stats.sock"), **options)
    checked = haproxy_check(text, tmp_path)
    assert checked.returncode == 0, f"{checked.stdout}{checked.stderr}\n{text}"


@pytest.mark.parametrize(("balancer", "options"), list(itertools.product(BUILT_IN, OPTIONS)),
                         ids=lambda v: type(v).__name__ if not isinstance(v, dict) else
                         f"retries{v['retries']}-check{v['health_check'] is not None}")
def test_every_nginx_configuration_passes_nginxs_own_check(balancer, options, tmp_path):
    text = config.nginx(balancer, BACKENDS, listen="127.0.0.1:18080", runtime_dir=str(tmp_path),
                        down=[2], **options)
    checked = nginx_check(text, tmp_path)
    assert checked.returncode == 0, f"{checked.stderr}\n{text}"


def test_the_take_away_nginx_configuration_passes_too(tmp_path):
    text = config.nginx(b.LeastConnections(), ["10.0.0.1:8000", "10.0.0.2:8000"])
    checked = nginx_check(text.replace("worker_processes", f"pid {tmp_path}/pid;\n"
                                       "worker_processes", 1), tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "daemon off" not in text and "pid " not in text


# The directives the manuals give for each policy (HAProxy 2.6 configuration.txt "balance":
# random's <draws> defaults to 2, so uniform random is random(1); NGINX upstream module).
MAPPING = [
    (b.RoundRobin(), "balance roundrobin", None),
    (b.Random(), "balance random(1)", "random;"),
    (b.PowerOfTwoChoices(), "balance random(2)", "random two least_conn;"),
    (b.LeastConnections(), "balance leastconn", "least_conn;"),
    (b.ConsistentHash(), "hash-type consistent", "hash $http_x_user consistent;"),
    (b.Sticky(), "cookie SRV insert indirect nocache", "hash $http_x_user consistent;"),
]


@pytest.mark.parametrize(("balancer", "haproxy_line", "nginx_line"), MAPPING,
                         ids=lambda v: type(v).__name__ if isinstance(v, b.Balancer) else "")
def test_each_policy_becomes_the_directive_the_manuals_name(balancer, haproxy_line, nginx_line):
    haproxy_text = config.haproxy(balancer, BACKENDS)
    nginx_text = config.nginx(balancer, BACKENDS)
    assert haproxy_line in haproxy_text
    if nginx_line is None:  # round robin is NGINX's default: no method directive at all
        assert not any(m in nginx_text for m in ("least_conn", "random", "hash "))
    else:
        assert nginx_line in nginx_text


def test_health_check_retries_and_timeouts_are_carried_over():
    check = sl.HealthCheck(interval=0.5, timeout=0.25, unhealthy_threshold=2, healthy_threshold=3)
    haproxy_text = config.haproxy(b.RoundRobin(), [8001], health_check=check, retries=2,
                                  timeout=1.5, passive_ejection=False)
    assert "check inter 500ms fall 2 rise 3" in haproxy_text
    assert "timeout check 250ms" in haproxy_text and "timeout server 1500ms" in haproxy_text
    assert "retries 2" in haproxy_text and "option redispatch 1" in haproxy_text
    assert "observe layer4" not in haproxy_text
    nginx_text = config.nginx(b.RoundRobin(), [8001], health_check=check, retries=2,
                              timeout=1.5, passive_ejection=False)
    assert "max_fails=2 fail_timeout=1s" in nginx_text  # ⌈0.5 s × 2⌉ whole seconds
    assert "proxy_next_upstream_tries 3;" in nginx_text  # NGINX counts the first try
    assert "non_idempotent" not in nginx_text
    assert "proxy_next_upstream off;" in config.nginx(b.RoundRobin(), [8001], retries=0)


class MyBalancer(b.RoundRobin):
    def pick(self, instances, request):
        return super().pick(instances, request)


@pytest.mark.parametrize("writer", [config.haproxy, config.nginx], ids=["haproxy", "nginx"])
def test_a_learners_own_class_says_only_the_python_proxy_runs_it(writer):
    with pytest.raises(TypeError, match=r"your own class.*proxy='python'"):
        writer(MyBalancer(), BACKENDS)


@pytest.mark.parametrize("writer", [config.haproxy, config.nginx], ids=["haproxy", "nginx"])
def test_peak_ewma_is_refused_with_the_reason(writer):
    with pytest.raises(TypeError, match=r"peak-EWMA.*proxy='python'"):
        writer(b.PeakEWMA(), BACKENDS)


def test_what_nginx_open_source_lacks_is_said():
    with pytest.raises(ValueError, match="NGINX Plus"):
        config.nginx(b.RoundRobin(), BACKENDS, slow_start=10)
    assert "no sticky cookie" in config.nginx(b.Sticky(), BACKENDS)
    assert config.supports(b.Sticky(fallback=b.PeakEWMA())) == ("python",)
    assert config.supports(b.LeastConnections()) == ("python", "haproxy", "nginx")


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"backends": []}, ValueError, "at least one"),
    ({"backends": "127.0.0.1:80"}, TypeError, "backends must be a list"),
    ({"backends": ["localhost"]}, ValueError, "host:port"),
    ({"backends": [70000]}, ValueError, "port 1..65535"),
    ({"weights": [1.5, 1, 1]}, ValueError, r"weights\[0\] must be a whole number"),
    ({"weights": [1, 1]}, ValueError, "one number per backend"),
    ({"retries": -1}, ValueError, "retries must be ≥ 0"),
    ({"health_check": 2}, TypeError, "health_check must be"),
    ({"listen": "8080"}, ValueError, "listen must be 'host:port'"),
])
def test_bad_arguments_name_the_parameter(kwargs, error, words):
    arguments = {"backends": BACKENDS, **kwargs}
    with pytest.raises(error, match=words):
        config.haproxy(b.RoundRobin(), **arguments)


def test_lab_refuses_an_unknown_proxy_or_an_inexpressible_policy_before_starting():
    with pytest.raises(ValueError, match="proxy must be one of 'python', 'haproxy', 'nginx'"):
        sl.lab.Lab(proxy="envoy")
    with pytest.raises(TypeError, match="proxy='python'"):
        sl.lab.Lab(balancer=b.PeakEWMA(), proxy="nginx")


def test_a_missing_program_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("SCALELAB_HAPROXY", "/nonexistent/haproxy")
    assert not sl.lab.proxy_available("haproxy")
    with pytest.raises(FileNotFoundError, match="apt-get install haproxy nginx"):
        sl.lab.Lab(proxy="haproxy")
