"""A head node with its dashboard, started with `comet start --head` for the
job-server, job-CLI and state-API tests, and stopped with `comet stop`."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from cli_cluster import CLI, free_port


def bearer() -> dict[str, str]:
    """The Authorization header with this machine's cluster token (the one
    `comet start --head` made or found), as every client sends it."""
    from comet._private import auth

    return auth.bearer_headers()


def wait_for(cond: Any, timeout: float = 60.0, interval: float = 0.1) -> Any:
    """Polls cond() until it returns something truthy; returns it (or fails)."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {cond}")
        time.sleep(interval)


class DashboardCluster:
    """``extra_env`` goes to every CLI call (and so to the daemons it starts)."""

    def __init__(self, temp_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.temp_dir = temp_dir
        self.extra_env = dict(extra_env or {})
        self.start_output = ""
        self.gcs_port = free_port()
        self.dashboard_port = free_port()
        self.url = f"http://127.0.0.1:{self.dashboard_port}"
        self.gcs_address = ""
        self.session_dir = ""

    @property
    def env(self) -> dict[str, str]:
        """For CLI calls: finds this cluster through its session, not the defaults."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("COMET_ADDRESS", "COMET_DASHBOARD_ADDRESS")}
        env["COMET_TEMP_DIR"] = str(self.temp_dir)
        env.update(self.extra_env)
        return env

    def cli(self, *args: object, timeout: float = 90) -> subprocess.CompletedProcess:
        return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env=self.env)

    def start(self) -> None:
        result = self.cli("start", "--head", "--port", self.gcs_port, "--num-cpus", 2,
                          "--temp-dir", self.temp_dir, "--dashboard-port", self.dashboard_port)
        assert result.returncode == 0, result.stderr
        assert self.url in result.stdout, result.stdout + result.stderr
        self.start_output = result.stdout
        latest = self.temp_dir / "session_latest"
        self.gcs_address = (latest / "gcs_address").read_text().strip()
        self.session_dir = os.path.realpath(latest)

    def stop(self) -> None:
        result = self.cli("stop", "--temp-dir", self.temp_dir)
        assert result.returncode == 0, result.stderr

    def dashboard_pid(self) -> int:
        info = json.loads((Path(self.session_dir) / "session.json").read_text())
        return info["pids"]["dashboard"]

    def http(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """(status, decoded JSON or text) of one request to the dashboard, sent
        as JSON with the cluster token unless ``headers`` say otherwise."""
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        headers = {**bearer(), "Content-Type": "application/json", **(headers or {})}
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={k: v for k, v in headers.items() if v})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, raw, ctype = resp.status, resp.read(), resp.headers["Content-Type"]
        except urllib.error.HTTPError as e:
            status, raw, ctype = e.code, e.read(), e.headers["Content-Type"]
        if ctype and ctype.startswith("application/json"):
            return status, json.loads(raw)
        return status, raw.decode()

    def get(self, path: str) -> Any:
        status, body = self.http("GET", path)
        assert status == 200, (path, status, body)
        return body

    def job(self, submission_id: str) -> dict[str, Any]:
        return self.get(f"/api/jobs/{submission_id}")

    def wait_job(self, submission_id: str, timeout: float = 90) -> dict[str, Any]:
        """The job once it is terminal."""
        terminal = ("SUCCEEDED", "FAILED", "STOPPED")
        return wait_for(lambda: (lambda j: j if j["status"] in terminal else None)(
            self.job(submission_id)), timeout)


def start_cluster(tmp_path_factory: Any, name: str):
    """Generator body for a module-scoped fixture."""
    cluster = DashboardCluster(tmp_path_factory.mktemp(name))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
