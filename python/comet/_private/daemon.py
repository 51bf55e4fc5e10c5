"""A daemon process (gcs_server, raylet, dashboard) started in its own session.

The daemon runs in a new session (``setsid``), so it survives the process that
started it (``comet start`` exits while its daemons go on). Its stdout and
stderr go to ``<log_dir>/<name>.out`` and ``<log_dir>/<name>.err``; it is
ready once its stdout has a line starting with the ready prefix.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

START_TIMEOUT_S = 60.0
_POLL_S = 0.005


class DaemonStartError(RuntimeError):
    """A daemon exited, or did not print its ready line in time."""


class DaemonProcess:
    """A daemon started by this process, ready once it printed its ready line."""

    def __init__(self, name: str, args: list[str], log_dir: str, ready_prefix: str | None,
                 timeout_s: float = START_TIMEOUT_S) -> None:
        self.name = name
        self.stdout_path = os.path.join(log_dir, f"{name}.out")
        self.stderr_path = os.path.join(log_dir, f"{name}.err")
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self._out_start = out.tell()
            self.proc = subprocess.Popen(
                args, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                start_new_session=True)
        self.pid = self.proc.pid
        self.ready_line = self.wait_ready(ready_prefix, timeout_s) if ready_prefix else ""

    def wait_ready(self, prefix: str, timeout_s: float = START_TIMEOUT_S) -> str:
        """Waits for the line starting with `prefix` and returns it; stops the
        daemon and raises DaemonStartError when it exits or takes too long
        (for a daemon started with ready_prefix=None)."""
        deadline = time.monotonic() + timeout_s
        with open(self.stdout_path, "rb") as out:
            out.seek(self._out_start)
            buf = b""
            while True:
                exited = self.proc.poll() is not None  # read once more after an exit
                buf += out.read()
                for line in buf.decode(errors="replace").splitlines():
                    if line.startswith(prefix):
                        return line
                if exited:
                    why = f"exited with status {self.proc.returncode}"
                    break
                if time.monotonic() > deadline:
                    why = f"printed no ready line within {timeout_s:.0f}s"
                    break
                time.sleep(_POLL_S)
        self.stop()
        raise DaemonStartError(f"{self.name} failed to start ({why}): {self.last_error()}")

    def last_error(self) -> str:
        """The last non-empty line the daemon wrote to stderr, or 'no output'."""
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.stderr_path) - 4096))
                lines = [ln.strip() for ln in f.read().decode(errors="replace").splitlines()]
        except OSError:
            return "no output"
        lines = [ln for ln in lines if ln]
        return lines[-1] if lines else f"no output (see {self.stderr_path})"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout_s`."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
