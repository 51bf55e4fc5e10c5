"""One job's driver process: started as a shell command in its own process
group, polled for its exit, stopped by signalling the group.

The command runs under a small wrapper shell that writes its exit code to a
file, so a dashboard that restarts (and so is not the process's parent) can
still tell how an adopted job ended. Not thread-safe: used from the event loop.
"""

from __future__ import annotations

import os
import subprocess

import psutil

# $1: the entrypoint, $2: the exit-code file. The wrapper shell stays the group
# leader, so the group id is its pid. It records the entrypoint shell's pid in
# "$2.pid" (a `sh -c "python x.py"` execs python in place, so that is the
# driver's pid even when the driver ends before anyone could list it).
_WRAPPER = ('exec /bin/sh -c "$1" & child=$!; echo "$child" > "$2.pid"; wait "$child"; code=$?; '
            'echo "$code" > "$2.tmp" && mv "$2.tmp" "$2"; exit "$code"')
UNKNOWN_EXIT = -1


class JobProcess:
    """A job's process group, either started here or adopted after a restart."""

    def __init__(self, pid: int, exit_file: str, popen: subprocess.Popen | None = None,
                 create_time: float | None = None) -> None:
        self.pid = pid
        self.exit_file = exit_file
        self._popen = popen
        self.create_time = create_time if create_time is not None else _create_time(pid)

    @classmethod
    def start(cls, entrypoint: str, cwd: str, env: dict[str, str], log_path: str,
              exit_file: str) -> JobProcess:
        with open(log_path, "ab", buffering=0) as log:
            popen = subprocess.Popen(
                ["/bin/sh", "-c", _WRAPPER, "comet-job", entrypoint, exit_file],
                cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        return cls(popen.pid, exit_file, popen)

    @classmethod
    def adopt(cls, pid: int, create_time: float | None, exit_file: str) -> JobProcess | None:
        """The still-running process of a job started by an earlier dashboard, or
        None when it is gone (or its pid now belongs to another process)."""
        current = _create_time(pid)
        if current is None or (create_time is not None and abs(current - create_time) > 1):
            return None
        return cls(pid, exit_file, None, current)

    def poll(self) -> int | None:
        """The exit code once the process has ended (UNKNOWN_EXIT when an adopted
        one ended without writing it), else None."""
        if self._popen is not None:
            code = self._popen.poll()
            if code is None:
                return None
            return self._read_exit_file(default=code)
        if self._alive():
            return None
        return self._read_exit_file(default=UNKNOWN_EXIT)

    def signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def descendants(self) -> set[int]:
        """The pids of the job's process tree now, with the entrypoint shell's."""
        pids = {self.pid}
        code = read_exit_code(self.exit_file + ".pid")
        if code is not None:
            pids.add(code)
        try:
            pids |= {c.pid for c in psutil.Process(self.pid).children(recursive=True)}
        except psutil.Error:
            pass
        return pids

    def _alive(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            return proc.status() != psutil.STATUS_ZOMBIE and (
                self.create_time is None or abs(proc.create_time() - self.create_time) <= 1)
        except psutil.Error:
            return False

    def _read_exit_file(self, default: int) -> int:
        code = read_exit_code(self.exit_file)
        return default if code is None else code


def read_exit_code(exit_file: str) -> int | None:
    """The number the wrapper shell wrote to a file (exit code, pid), None if none."""
    try:
        with open(exit_file) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _create_time(pid: int) -> float | None:
    try:
        proc = psutil.Process(pid)
        return None if proc.status() == psutil.STATUS_ZOMBIE else proc.create_time()
    except psutil.Error:
        return None

