"""Run one submission's notebook in a child process that cannot harm the grader.

Every child gets a private temporary folder (its HOME and working folder, deleted after),
CPU-time, memory, file-size and core-dump limits, a per-cell and a total time limit, and its
output is dropped unread (only the grade cells' lines come back, at most ``RESULT_BYTES``).
On top of that, one of three isolations (``Limits.isolation``; ``auto`` picks the first that
works here):

- ``namespace`` (root, Linux ≥ 5.12): a private mount namespace in which the whole file
  system is read-only except the child's folder, a private PID namespace (it cannot see or
  signal any other process, and everything it started dies with it), and every capability
  dropped, so it cannot undo any of that. Nothing outside its folder can be deleted.
- ``user``: the child runs as another user (``run_as``, default ``nobody``), which needs the
  Python installation to be readable by that user. Adds a process-count limit.
- ``none``: only the folder and the limits (what a non-root grader can do).
"""

from __future__ import annotations

import ctypes
import json
import os
import pwd
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path

KERNEL_NAME = "scalelab-grader"
TIMEOUT_ERROR = "ScalelabCellTimeout"
MARKER = "SCALELAB-GRADE "
RESULT_BYTES = 4 << 20   # at most this much is read back from a child
STDERR_BYTES = 16 << 10  # the tail of a child's stderr kept for error messages
ISOLATIONS = ("auto", "namespace", "user", "none")
CHILD = "from scalelab.exercises.sandbox import child_main; child_main()"


@dataclass(frozen=True)
class Limits:
    """What one submission may use: seconds per cell and in all, memory and file size (MB),
    processes (``user`` isolation only), and how it is isolated (see the module doc)."""

    cell_timeout: float = 60.0
    total_timeout: float = 600.0
    memory_mb: int = 4096
    file_mb: int = 64
    processes: int = 512
    isolation: str = "auto"
    run_as: str = "nobody"
    lab_cells: bool = True  # False: skip the cells that start the real lab (see grading)


# -- the parent side ------------------------------------------------------------------------

def resolve(limits: Limits, log) -> Limits:
    """``limits`` with ``isolation`` made concrete: what was asked for if it works here, or
    for ``auto`` the strongest that does (with a warning when that is ``none``)."""
    if limits.isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {', '.join(ISOLATIONS)}, "
                         f"got {limits.isolation!r}")
    wanted = [limits.isolation] if limits.isolation != "auto" else ["namespace", "user"]
    reasons = []
    for isolation in wanted:
        if isolation == "none":
            return limits
        problem = _probe(replace(limits, isolation=isolation))
        if problem is None:
            return replace(limits, isolation=isolation)
        reasons.append(f"{isolation}: {problem}")
        if limits.isolation != "auto":
            raise PermissionError(f"cannot isolate submissions with {problem}")
    log("WARNING: submissions will run as you, each in its own folder and with limits, but "
        "able to change your files (" + "; ".join(reasons) + "). Grade as root for the "
        "read-only sandbox.")
    return replace(limits, isolation="none")


def _probe(limits: Limits) -> str | None:
    """None if a child can start with ``limits``' isolation here, else why not."""
    if os.geteuid() != 0:
        return "needs root"
    if limits.isolation == "user":
        try:
            user = pwd.getpwnam(limits.run_as)
        except KeyError:
            return f"no user {limits.run_as!r}"
        extra = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        code = "import ipykernel, nbclient, scalelab.exercises.sandbox"
    else:
        extra = {}
        code = "import scalelab.exercises.sandbox as s; s.confine('/tmp'); s.drop_capabilities()"
    env = {key: os.environ[key] for key in ("PATH", "PYTHONPATH") if key in os.environ}
    try:
        probe = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True,
                               env={**env, "HOME": "/", "PYTHONDONTWRITEBYTECODE": "1"},
                               timeout=120, check=False, **extra)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    if probe.returncode:
        lines = probe.stderr.decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit status {probe.returncode}"
    return None


def run(job: dict, limits: Limits) -> dict:
    """Run ``job`` (a notebook and where its grade cells start) in a sandboxed child; return
    what it reported: ``records``, ``cell_errors`` ({cell index: [name, message]}, a timeout
    named ``TIMEOUT_ERROR``), ``kernel_died``, ``last_cell``, and
    ``total_timeout`` or ``fatal`` when it did not finish."""
    user = pwd.getpwnam(limits.run_as) if limits.isolation == "user" else None
    folder = Path(tempfile.mkdtemp(prefix="scalelab-grade-"))
    read_end, write_end = os.pipe()
    child, lines, stderr = None, [], []
    try:
        env = _prepare_folder(folder, user)
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(write_end), limits.isolation],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            cwd=folder, env=env, pass_fds=(write_end,), start_new_session=True, umask=0o077,
            **({"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}))
        os.close(write_end)
        write_end = None
        _set_limits(child.pid, limits)  # before it reads its job, so before any kernel
        readers = [threading.Thread(target=_read_lines, args=(read_end, lines), daemon=True),
                   threading.Thread(target=_read_tail, args=(child.stderr, stderr), daemon=True)]
        for reader in readers:
            reader.start()
        try:
            child.stdin.write(json.dumps({**job, "cell_timeout": limits.cell_timeout}).encode())
            child.stdin.close()
        except OSError:
            pass
        result = {}
        try:
            child.wait(timeout=limits.total_timeout)
        except subprocess.TimeoutExpired:
            result["total_timeout"] = True
        _stop(child, lines)
        for reader in readers:
            reader.join(timeout=10)
        for record in lines:
            if "cell" in record:
                result["last_cell"] = record["cell"]
            elif "kernel_pid" not in record:
                result.update(record)
        if not {"records", "fatal", "total_timeout"} & result.keys():
            tail = b"".join(stderr).decode(errors="replace").strip().splitlines()[-2:]
            result["fatal"] = (f"the grading process ended with status {child.returncode}"
                               + (f": {' | '.join(tail)}" if tail else ""))
        return result
    finally:
        if write_end is not None:
            os.close(write_end)
        if child is not None:
            _stop(child, lines)
        shutil.rmtree(folder, ignore_errors=True)


def _prepare_folder(folder: Path, user) -> dict:
    """HOME, temp and Jupyter folders inside ``folder`` (owned by ``user`` if given) and the
    child's environment, with a kernelspec that runs this very Python."""
    for sub in ("tmp", ".ipython", ".runtime", f".jupyter/kernels/{KERNEL_NAME}"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "scalelab grader", "language": "python"}
    (folder / ".jupyter/kernels" / KERNEL_NAME / "kernel.json").write_text(json.dumps(spec))
    if user is not None:
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
    env = {key: value for key, value in os.environ.items()  # SCALELAB_*: CI tracks its runs
           if key in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV")
           or key.startswith("SCALELAB_")}
    env.update(HOME=str(folder), TMPDIR=str(folder / "tmp"), IPYTHONDIR=str(folder / ".ipython"),
               JUPYTER_PATH=str(folder / ".jupyter"), JUPYTER_CONFIG_DIR=str(folder / ".jupyter"),
               JUPYTER_RUNTIME_DIR=str(folder / ".runtime"), MPLCONFIGDIR=str(folder / "tmp"),
               PYTHONDONTWRITEBYTECODE="1", JUPYTER_PLATFORM_DIRS="1")
    return env


def _set_limits(pid: int, limits: Limits) -> None:
    wanted = [(resource.RLIMIT_CPU, int(limits.total_timeout) + 5),
              (resource.RLIMIT_AS, limits.memory_mb << 20),
              (resource.RLIMIT_FSIZE, limits.file_mb << 20), (resource.RLIMIT_CORE, 0)]
    if limits.isolation == "user":  # counted per user, and root is exempt from it anyway
        wanted.append((resource.RLIMIT_NPROC, limits.processes))
    for which, value in wanted:
        hard = resource.prlimit(pid, which)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.prlimit(pid, which, (value, value))


def _read_lines(fd: int, lines: list) -> None:
    total = 0
    with os.fdopen(fd, "rb") as stream:
        for raw in stream:
            total += len(raw)
            if total <= RESULT_BYTES:
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    pass


def _read_tail(stream, chunks: list) -> None:
    kept = 0
    for chunk in iter(lambda: stream.read(4096), b""):
        chunks.append(chunk)
        kept += len(chunk)
        while kept > STDERR_BYTES and len(chunks) > 1:
            kept -= len(chunks.pop(0))


def _stop(child: subprocess.Popen, lines: list) -> None:
    """Kill the child's process group, and its kernel's when the kernel is outside a PID
    namespace (inside one, it died with the namespace)."""
    groups = [child.pid] + [r["kernel_pid"] for r in lines if "kernel_pid" in r]
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


# -- the child side -------------------------------------------------------------------------

_CLONE_NEWNS, _CLONE_NEWPID = 0x00020000, 0x20000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_BIND, _MS_REC, _MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
_SYS_MOUNT_SETATTR, _AT_FDCWD, _AT_RECURSIVE, _MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 1
_PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS, _CAP_VERSION_3 = 24, 38, 0x20080522


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _ok(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def confine(folder: str) -> None:
    """Enter new mount and PID namespaces; make everything read-only except ``folder``.
    The PID namespace takes effect for the next child this process forks."""
    libc, path = _libc(), os.fsencode(folder)
    _ok(libc.unshare(_CLONE_NEWNS | _CLONE_NEWPID), "unshare")
    _ok(libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "mount --make-rprivate")
    _ok(libc.mount(path, path, None, _MS_BIND | _MS_REC, None), "bind-mount the folder")
    for target, attr_set, attr_clr in ((b"/", _MOUNT_ATTR_RDONLY, 0),
                                       (path, 0, _MOUNT_ATTR_RDONLY)):
        attr = ctypes.create_string_buffer(struct.pack("QQQQ", attr_set, attr_clr, 0, 0), 32)
        _ok(libc.syscall(_SYS_MOUNT_SETATTR, _AT_FDCWD, target, _AT_RECURSIVE, attr, 32),
            "mount_setattr")


def drop_capabilities() -> None:
    """Give up every capability for good (no remounting, no raising limits)."""
    libc = _libc()
    for cap in range(64):
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails past the last capability: fine
    _ok(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _ok(libc.capset(struct.pack("Ii", _CAP_VERSION_3, 0), bytes(24)), "capset")


def child_main() -> None:  # pragma: no cover - runs in the sandboxed child
    """``python -c '…child_main()' FD ISOLATION``: read a job from stdin, run its notebook,
    write JSON lines to FD. With ``namespace`` isolation the notebook runs in a forked
    process that is PID 1 of a fresh PID namespace, with its own /proc and no capabilities."""
    out = os.fdopen(int(sys.argv[1]), "w", buffering=1)
    isolation = sys.argv[2]

    def send(**record):
        out.write(json.dumps(record) + "\n")

    try:
        job = json.load(sys.stdin)
        if isolation == "namespace":
            confine(os.getcwd())
            pid = os.fork()
            if pid:
                _, status = os.waitpid(pid, 0)
                os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
            _ok(_libc().mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC,
                              None), "mount /proc")
            drop_capabilities()
        send(**_execute(job, send, report_kernel=isolation != "namespace"))
    except BaseException as exc:  # noqa: BLE001 - the parent must hear of any failure
        send(fatal=f"{type(exc).__name__}: {exc}")
    finally:
        out.close()
    if isolation == "namespace":
        os._exit(0)


def _execute(job: dict, send, report_kernel: bool) -> dict:  # pragma: no cover - child only
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    notebook = nbformat.from_dict(job["notebook"])
    first_grade_cell = job["first_grade_cell"]

    class Client(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):
            if cell_index < first_grade_cell:
                return None  # the submission's own output is never kept (it may be huge)
            return super().output(outs, msg, display_id, cell_index)

    def started(notebook):
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        if pid and report_kernel:
            send(kernel_pid=pid)

    errors = {}

    def failed(cell, cell_index, execute_reply):
        content = execute_reply.get("content", {})
        errors[cell_index] = [str(content.get("ename", "Error")), str(content.get("evalue"))[:300]]

    client = Client(
        notebook, timeout=job["cell_timeout"], kernel_name=KERNEL_NAME, allow_errors=True,
        interrupt_on_timeout=True, record_timing=False, startup_timeout=120,
        error_on_timeout={"ename": TIMEOUT_ERROR, "evalue": "", "traceback": []},
        resources={"metadata": {"path": os.getcwd()}}, on_notebook_start=started,
        on_cell_execute=lambda cell, cell_index: send(cell=cell_index), on_cell_error=failed)
    died = None
    try:
        client.execute()
    except DeadKernelError as exc:
        died = str(exc) or "the kernel died"
    records = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if index >= first_grade_cell and output.get("output_type") == "stream":
                for line in output.get("text", "").splitlines():
                    if line.startswith(MARKER):
                        try:
                            records.append(json.loads(line[len(MARKER):]))
                        except ValueError:
                            pass
    return {"records": records, "cell_errors": errors, "kernel_died": died}
