"""Finding and stopping this machine's Comet processes (for `comet stop`).

A Comet process is one of this user's processes that is a gcs_server or raylet
binary, a worker (``-m comet._private.worker_main``) or a dashboard
(``-m comet.dashboard``), and that names a session directory
(``--session-dir``, ``<temp_dir>/session_*``). Nothing else is touched.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

import psutil

from comet._private.session import SESSION_PREFIX

_BINARIES = ("gcs_server", "raylet")
_MODULES = {"comet._private.worker_main": "worker", "comet.dashboard": "dashboard"}
# Stopped in this order: whoever starts processes (raylets start workers) first.
_ORDER = {"dashboard": 0, "raylet": 1, "worker": 2, "gcs_server": 3}


@dataclass
class CometProcess:
    process: psutil.Process
    kind: str  # gcs_server, raylet, worker or dashboard
    session_dir: str


def _kind(cmdline: list[str]) -> str | None:
    if os.path.basename(cmdline[0]) in _BINARIES:
        return os.path.basename(cmdline[0])
    for i, arg in enumerate(cmdline[:-1]):
        if arg == "-m":
            return _MODULES.get(cmdline[i + 1])
    return None


def _session_dir(cmdline: list[str]) -> str | None:
    for i, arg in enumerate(cmdline):
        if arg.startswith("--session-dir="):
            value = arg.split("=", 1)[1]
        elif arg == "--session-dir" and i + 1 < len(cmdline):
            value = cmdline[i + 1]
        else:
            continue
        if os.path.basename(os.path.normpath(value)).startswith(SESSION_PREFIX):
            return value
    return None


def find(temp_dirs: list[str] | None = None) -> list[CometProcess]:
    """This user's Comet processes; with temp_dirs, only those of sessions there."""
    parents = {os.path.realpath(d) for d in temp_dirs} if temp_dirs else None
    me, uid = os.getpid(), os.getuid()
    found = []
    for proc in psutil.process_iter(["pid", "uids", "cmdline", "status"]):
        info = proc.info
        if (info["pid"] == me or not info["cmdline"] or info["uids"] is None
                or info["uids"].real != uid or info["status"] == psutil.STATUS_ZOMBIE):
            continue
        kind = _kind(info["cmdline"])
        session = _session_dir(info["cmdline"]) if kind else None
        if session is None:
            continue
        if parents is not None and os.path.realpath(os.path.dirname(
                os.path.normpath(session))) not in parents:
            continue
        found.append(CometProcess(proc, kind, session))
    found.sort(key=lambda p: _ORDER[p.kind])
    return found


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _gone(procs: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Waits up to timeout_s; returns the processes still running (a zombie, an
    exited child nobody reaped yet, counts as gone)."""
    deadline = time.monotonic() + timeout_s
    while True:
        procs = [p for p in procs if _running(p)]
        if not procs or time.monotonic() >= deadline:
            return procs
        time.sleep(0.05)


def _signal_all(procs: list[psutil.Process], sig: int) -> None:
    for p in procs:
        try:
            p.send_signal(sig)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass


def stop(temp_dirs: list[str] | None, force: bool, grace_s: float) -> tuple[int, set[str]]:
    """Stops the Comet processes find() sees: SIGTERM, then SIGKILL after grace_s
    (at once with force). Looks again until none is left (a raylet may start a
    worker while it stops). Returns (how many stopped, their session dirs)."""
    stopped: set[int] = set()
    sessions: set[str] = set()
    for _ in range(5):
        found = find(temp_dirs)
        if not found:
            break
        procs = [c.process for c in found]
        stopped.update(p.pid for p in procs)
        sessions.update(c.session_dir for c in found)
        _signal_all(procs, signal.SIGKILL if force else signal.SIGTERM)
        left = _gone(procs, 2.0 if force else grace_s)
        if left:
            _signal_all(left, signal.SIGKILL)
            _gone(left, 5.0)
    return len(stopped), sessions
