"""Shared fixtures: a private JupyterLab server and headless Chromium (via Playwright).

Fixtures
    jupyter_server  session: JupyterLab on 127.0.0.1 (free port, random token), isolated config,
                    serving a temporary COPY of lessons/ at ``lessons/`` (JupyterLab marks a
                    notebook dirty on open; the repo's files are never written).
    browser         session: Debian's chromium driven by Python Playwright.
    page            function: a fresh browser context and page; a screenshot is saved in the
                    test's tmp_path on failure, kernels are shut down afterwards.

Tests that use them are marked ``browser`` automatically (``pytest -m "not browser"`` skips them).
Without chromium, playwright or jupyterlab they are skipped with a hint, unless
``SCALELAB_REQUIRE_BROWSER=1`` (set by .ci/run), which turns the skip into a failure.

Processes: the server runs in its own session (process group); if ``SCALELAB_PIDDIR`` is set,
its pid is written there so .ci/run's exit trap can kill the group even if pytest itself is
killed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import lessons_dir

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SERVER_START_TIMEOUT_S = 120
SERVER_STOP_GRACE_S = 15
INSTALL_HINT = (
    "install it to run the browser tests: `apt-get install chromium fonts-liberation` "
    "(Debian/Ubuntu; or set CHROMIUM=/path/to/chrome) and `pip install -e '.[test]'`. "
    "Never `playwright install`: the tests use the system chromium."
)


def _require_browser() -> bool:
    return os.environ.get("SCALELAB_REQUIRE_BROWSER") == "1"


def _missing(what: str) -> None:
    """Skip (developer without a browser) or fail (CI, SCALELAB_REQUIRE_BROWSER=1)."""
    message = f"{what}; {INSTALL_HINT}"
    if _require_browser():
        pytest.fail(f"SCALELAB_REQUIRE_BROWSER=1 but {message}", pytrace=False)
    pytest.skip(message)


def chromium_path() -> str | None:
    """``$CHROMIUM``, else /usr/bin/chromium, else `chromium` on PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


# --------------------------------------------------------------------------- hooks


def pytest_ignore_collect(collection_path, config):
    """Never execute notebooks under tests/ with nbval: they are fixtures (e.g. graded
    submissions that loop forever or kill their kernel), not lessons. nbval runs lessons/."""
    if collection_path.suffix == ".ipynb":
        return True
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if {"browser", "jupyter_server", "page"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    server = getattr(item, "funcargs", {}).get("jupyter_server")
    if report.failed and server is not None:
        report.sections.append(("jupyter server log (tail)", server.log_tail()))
    return report


# --------------------------------------------------------------------------- server


@dataclasses.dataclass
class JupyterServer:
    url: str
    token: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel (and session) so tests do not pile up idle kernels."""
        try:
            for session in self.api("GET", "/api/sessions"):
                self.api("DELETE", f"/api/sessions/{session['id']}")
            for kernel in self.api("GET", "/api/kernels"):
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
        except (urllib.error.URLError, OSError):
            pass  # server already gone; teardown kills what is left

    def log_tail(self, lines: int = 120) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError as exc:
            return f"(no server log: {exc})"
        return "\n".join(text[-lines:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings_dir: Path) -> None:
    """User settings for the test server: no news pop-up, no autosave back into the copy."""
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    }
    for rel, value in files.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


def _stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the server's group (it shuts its kernels down), SIGKILL after a grace period.

    Kernels run in sessions of their own, so they are collected first and killed by pid if
    they outlive the server.
    """
    try:
        import psutil
    except ImportError:
        psutil = None
    children = []
    if psutil is not None:
        with contextlib.suppress(psutil.Error):
            children = psutil.Process(process.pid).children(recursive=True)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=SERVER_STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    if children:
        _, alive = psutil.wait_procs(children, timeout=5)
        for child in alive:
            with contextlib.suppress(psutil.Error):
                child.kill()


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory):
    """A private JupyterLab serving a temporary copy of lessons/ (at ``lessons/``)."""
    import importlib.util

    if importlib.util.find_spec("jupyterlab") is None:
        _missing("jupyterlab is not installed")

    base = tmp_path_factory.mktemp("jupyter")
    root = base / "root"
    source = lessons_dir()
    if source.is_dir():
        shutil.copytree(
            source,
            root / "lessons",
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    else:
        (root / "lessons").mkdir(parents=True)

    env = dict(os.environ)
    for name in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR",
        "IPYTHONDIR",
    ):
        env[name] = str(base / name.lower())
        Path(env[name]).mkdir()
    _write_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))
    env.pop("PLOTLY_RENDERER", None)  # lessons rely on plotly's own choice

    port = _free_port()
    token = secrets.token_hex(24)
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",  # tests/browser.py reads the notebook model
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")

    log_path = base / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file = None
    if os.environ.get("SCALELAB_PIDDIR"):
        pid_dir = Path(os.environ["SCALELAB_PIDDIR"])
        pid_dir.mkdir(parents=True, exist_ok=True)
        pid_file = pid_dir / f"jupyter-{process.pid}.pid"
        pid_file.write_text(f"{process.pid}\n")

    server = JupyterServer(f"http://127.0.0.1:{port}", token, root, log_path, process)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"JupyterLab exited with {process.returncode} before it was "
                    f"ready; log {log_path}:\n{server.log_tail()}",
                    pytrace=False,
                )
            try:
                server.api("GET", "/api/status")
                break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"JupyterLab not ready after {SERVER_START_TIMEOUT_S} s; "
                    f"log {log_path}:\n{server.log_tail()}",
                    pytrace=False,
                )
            time.sleep(0.3)
        yield server
    finally:
        _stop_process_group(process)
        if pid_file is not None:
            pid_file.unlink(missing_ok=True)


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's), launched once per test session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package is not installed")
    executable = chromium_path()
    if executable is None:
        _missing("chromium was not found (looked at $CHROMIUM, /usr/bin/chromium, PATH)")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(request, browser, tmp_path):
    """A fresh context and page (1400×1000). On failure: tmp_path/failure.png.

    ``page.console_errors`` collects console errors and uncaught page errors.
    """
    server = (
        request.getfixturevalue("jupyter_server")
        if "jupyter_server" in request.fixturenames
        else None
    )
    from playwright.sync_api import Error as PlaywrightError

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    pg = context.new_page()
    pg.console_errors = []
    pg.on(
        "console",
        lambda m: (
            pg.console_errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None
        ),
    )
    pg.on("pageerror", lambda e: pg.console_errors.append(f"uncaught: {e}"))
    try:
        yield pg
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            shot = tmp_path / "failure.png"
            try:
                pg.screenshot(path=str(shot), full_page=True)
                print(f"\nscreenshot: {shot}")
            except PlaywrightError as exc:  # the page may be gone
                print(f"\nno screenshot: {exc}")
        context.close()
        if server is not None:
            server.shutdown_kernels()
