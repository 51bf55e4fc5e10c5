"""Clusters started with the `comet` CLI, for tests: each gets its own
--temp-dir and is stopped with `comet stop --temp-dir`."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import psutil

CLI = [sys.executable, "-m", "comet.scripts.cli"]


def cli(*args: object, timeout: float = 60,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs `comet ARGS...`; `env` adds variables (e.g. COMET_<config> overrides)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    """The command failed with exactly one `Error: ...` line naming every word."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def free_port() -> int:
    """A free port below Linux's ephemeral range (32768+), so that a daemon that
    binds port 0 (raylets, workers) cannot take it before the one it is for."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32000")


def processes_of(temp_dir: Path) -> list[psutil.Process]:
    """Live processes whose command line names temp_dir (daemons, workers, dashboard)."""
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        try:
            if p.info["status"] != psutil.STATUS_ZOMBIE and str(temp_dir) in " ".join(
                    p.info["cmdline"] or []):
                found.append(p)
        except psutil.Error:
            continue
    return found


class Cluster:
    """Starts nodes with the CLI under one temp dir; `env` goes to every daemon."""

    def __init__(self, temp_dir: Path, env: dict[str, str] | None = None) -> None:
        self.temp_dir = temp_dir
        self.env = dict(env or {})
        self.gcs_address = ""
        self.session_dirs: dict[str, str] = {}  # node id hex -> its session dir

    def start_head(self, *args: str) -> subprocess.CompletedProcess:
        result = cli("start", "--head", "--port", free_port(), "--temp-dir", self.temp_dir,
                     "--no-include-dashboard", *args, env=self.env)
        assert result.returncode == 0, result.stderr
        self.gcs_address = (self.temp_dir / "session_latest" / "gcs_address").read_text()
        self._remember()
        return result

    def add_node(self, *args: str) -> str:
        """Starts a node joining the head; returns its node id (hex)."""
        result = cli("start", "--address", self.gcs_address, "--temp-dir", self.temp_dir, *args,
                     env=self.env)
        assert result.returncode == 0, result.stderr
        return self._remember()

    def _remember(self) -> str:
        node_id = self.node_id()
        self.session_dirs[node_id] = os.path.realpath(self.temp_dir / "session_latest")
        return node_id

    def node_id(self) -> str:
        """The node id of the newest session."""
        return self.session_info()["node_id"]

    def node_id_of_head(self) -> str:
        """The first node started (the head)."""
        return next(iter(self.session_dirs))

    def session_info(self) -> dict:
        return json.loads((self.temp_dir / "session_latest" / "session.json").read_text())

    def raylet_of(self, node_id: str) -> psutil.Process:
        """The raylet process of a node started here."""
        session_dir = self.session_dirs[node_id]
        for p in psutil.process_iter(["cmdline"]):
            cmd = p.info["cmdline"] or []
            if cmd and os.path.basename(cmd[0]) == "raylet" and \
                    f"--session-dir={session_dir}" in cmd:
                return p
        raise LookupError(f"no raylet for node {node_id}")
