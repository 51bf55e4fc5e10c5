"""Runs a standalone plasma store process (the `plasma_store` binary).

The raylet embeds the same store on a thread; this standalone form serves
tests, benchmarks and tools that need only shared-memory objects.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from comet._private.binaries import binary_path


class PlasmaStoreProcess:
    """A plasma store process owned by this Python process.

    Use as a context manager, or call :meth:`stop`. ``socket_path`` is where
    clients connect (``comet._raylet.PlasmaClient(store.socket_path)``).
    """

    def __init__(
        self,
        memory: int,
        socket_path: str | None = None,
        fallback_dir: str | None = None,
        log_dir: str | None = None,
        env: dict[str, str] | None = None,
        start_timeout_s: float = 30.0,
    ) -> None:
        if memory <= 0:
            raise ValueError(f"memory must be a positive number of bytes, got {memory}")
        self._tmpdir: str | None = None
        if socket_path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="comet-plasma-")
            socket_path = os.path.join(self._tmpdir, "plasma.sock")
        self.socket_path = socket_path
        self.memory = memory
        args = [binary_path("plasma_store"), f"--socket={socket_path}", f"--memory={memory}"]
        if fallback_dir is not None:
            args.append(f"--fallback-dir={fallback_dir}")
        if log_dir is not None:
            args.append(f"--log-dir={log_dir}")
        self._proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
            text=True,
        )
        self._wait_ready(start_timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        assert self._proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        line = self._proc.stdout.readline()
        if "ready" in line:
            return
        self._proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        err = self._proc.stderr.read() if self._proc.stderr else ""
        self._cleanup_dir()
        raise RuntimeError(f"plasma_store failed to start: {err.strip() or line.strip()}")

    @property
    def pid(self) -> int:
        """The store's process id."""
        return self._proc.pid

    def poll(self) -> int | None:
        """The exit code if the store has exited, else None."""
        return self._proc.poll()

    def stop(self, timeout_s: float = 10.0) -> int:
        """Stops the store (SIGTERM, then SIGKILL) and returns its exit code."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()
        self._cleanup_dir()
        return self._proc.returncode

    def _cleanup_dir(self) -> None:
        if self._tmpdir is not None:
            Path(self.socket_path).unlink(missing_ok=True)
            os.rmdir(self._tmpdir)
            self._tmpdir = None

    def __enter__(self) -> PlasmaStoreProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
