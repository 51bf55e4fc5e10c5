"""The dashboard's web UI in a real browser against a real cluster.

A head started with the CLI (dashboard included) runs tasks, an actor and a
placement group from this process, and a job submitted through the REST API.
Then dashboard/tests/ui_check.mjs drives Debian's headless Chromium (through
playwright-core) over every page, checks that this data shows up, stops the
job with the UI's button, and saves a screenshot of each page under
<repo>/test-artifacts/dashboard/.

Skipped, with the reason, when node, dashboard/node_modules (`npm ci` in
dashboard/), Chromium (`apt-get install chromium`) or the built UI
(`npm run build` in dashboard/) is missing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

import comet
from cli_cluster import cli, free_port, processes_of
from comet.util import placement_group
from comet._private import auth
from conftest import wait_for_condition

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD_DIR = ROOT / "dashboard"
UI_CHECK = DASHBOARD_DIR / "tests" / "ui_check.mjs"
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

JOB_MARKER = "dashboard-ui-test: the job is running"
JOB_TICK = "dashboard-ui-test tick "
ACTOR_LINE = "dashboard-ui-test: the actor counted to"
TASK_ERROR = "ValueError: dashboard-ui-test failure"
PAGES = ["login", "overview", "nodes", "node-detail", "actors", "tasks", "tasks-timeline",
         "task-detail", "actor-detail", "logs", "job-progress", "objects", "placement-groups",
         "jobs", "job-detail", "job-stopped", "error-state", "not-found"]


def _static_index() -> Path | None:
    spec = importlib.util.find_spec("comet.dashboard")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "static" / "index.html"


def _missing_prerequisite() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (DASHBOARD_DIR / "node_modules" / "playwright-core").is_dir():
        return "dashboard/node_modules is missing (run `npm ci` in dashboard/)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    index = _static_index()
    if index is None:
        return "the comet.dashboard package is not installed"
    if not index.is_file():
        return f"the UI is not built ({index} is missing; run `npm run build` in dashboard/)"
    return None


_MISSING = _missing_prerequisite()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=_MISSING or "")


def http(url: str, body: Any = None, timeout: float = 10) -> Any:
    """GETs (or POSTs body as JSON to) url; returns the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST",
                                     headers={**auth.bearer_headers(),
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A CLI-started head with its dashboard; this process joins it as a driver."""
    temp_dir = tmp_path / "comet"
    result = cli("start", "--head", "--port", free_port(), "--dashboard-port", free_port(),
                 "--num-cpus", 4, "--temp-dir", temp_dir)
    assert result.returncode == 0, result.stderr
    session = temp_dir / "session_latest"
    gcs_address = (session / "gcs_address").read_text().strip()
    dashboard_url = json.loads((session / "session.json").read_text()).get("dashboard_url")
    assert dashboard_url, f"the dashboard did not start:\n{result.stdout}{result.stderr}"
    try:
        comet.init(address=gcs_address)
        yield {"gcs_address": gcs_address, "url": dashboard_url.rstrip("/"),
               "temp_dir": str(temp_dir)}
    finally:
        comet.shutdown()
        stopped = cli("stop", "--temp-dir", temp_dir)
        assert stopped.returncode == 0, stopped.stderr
        assert wait_for_condition(lambda: not processes_of(temp_dir), timeout=30), \
            [p.info["cmdline"] for p in processes_of(temp_dir)]


@comet.remote
def dashboard_square(x: int) -> int:
    time.sleep(0.05)
    return x * x


@comet.remote
def dashboard_busy(seconds: float) -> None:
    time.sleep(seconds)


@comet.remote(max_retries=0)
def dashboard_fail() -> None:
    raise ValueError("dashboard-ui-test failure")


@comet.remote
class DashboardCounter:
    def __init__(self) -> None:
        self.count = 0

    def increment(self) -> int:
        self.count += 1
        print(ACTOR_LINE, self.count, flush=True)
        return self.count


def _submit_job(url: str) -> str:
    """Submits a job that prints JOB_MARKER, then a numbered tick twice a second until stopped."""
    code = (f"import itertools, time\nprint({JOB_MARKER!r}, flush=True)\n"
            f"for i in itertools.count():\n    print({JOB_TICK!r} + str(i), flush=True)\n"
            "    time.sleep(0.5)\n")
    reply = http(f"{url}/api/jobs/", {"entrypoint": shlex.join([sys.executable, "-c", code]),
                                      "metadata": {"test": "dashboard-ui"}})
    submission_id = reply["submission_id"]
    assert wait_for_condition(
        lambda: JOB_MARKER in http(f"{url}/api/jobs/{submission_id}/logs")["logs"], timeout=30)
    return submission_id


def _run_ui_check(url: str, expect: dict[str, Any], tmp_path: Path) -> str:
    expect_file = tmp_path / "expect.json"
    expect_file.write_text(json.dumps(expect))
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    result = subprocess.run(
        ["node", str(UI_CHECK), "--url", url, "--out", str(ARTIFACTS),
         "--expect", str(expect_file)],
        cwd=DASHBOARD_DIR, capture_output=True, text=True, timeout=120,
        env={**os.environ, "CHROMIUM": CHROMIUM, "COMET_UI_TOKEN": auth.load()["token"]})
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"browser checks failed (screenshots in {ARTIFACTS}):\n{output}"
    return output


@pytest.mark.timeout(180)
def test_every_page_shows_live_cluster_data(cluster: dict[str, str], tmp_path: Path) -> None:
    url = cluster["url"]
    assert comet.get([dashboard_square.remote(i) for i in range(8)]) == [i * i for i in range(8)]
    counter = DashboardCounter.remote()
    assert comet.get([counter.increment.remote() for _ in range(3)]) == [1, 2, 3]
    with pytest.raises(ValueError, match="dashboard-ui-test failure"):
        comet.get(dashboard_fail.remote())
    group = placement_group([{"CPU": 1}], strategy="PACK", name="dashboard-ui-pg")
    assert group.wait(30)
    job_id = _submit_job(url)
    # Work in flight while the browser looks, so charts and the timeline move.
    busy = [dashboard_busy.remote(0.5) for _ in range(12)]
    held = comet.put(b"x" * (8 * 2**20))  # in the object store while the browser looks

    head = next(n for n in http(f"{url}/api/nodes")["nodes"] if n["is_head"])
    # The tasks reach the GCS within about a second, the metrics history every 2 s.
    assert wait_for_condition(lambda: any(
        s["tasks"].get("FINISHED") for s in http(f"{url}/api/metrics/history")["samples"]),
        timeout=30)
    square_name = next(t["name"] for t in http(f"{url}/api/tasks?state=FINISHED")["tasks"]
                       if t["name"].endswith(".dashboard_square"))
    assert wait_for_condition(lambda: any(
        t["name"].endswith(".dashboard_fail") for t in http(f"{url}/api/tasks?state=FAILED")["tasks"]),
        timeout=30)
    failed_id = next(t["task_id"] for t in http(f"{url}/api/tasks?state=FAILED")["tasks"]
                     if t["name"].endswith(".dashboard_fail"))
    expect = {
        "node_id": head["node_id"],
        "actor_class": "DashboardCounter",
        "job_id": job_id,
        "job_log_line": JOB_MARKER,
        "job_tick_prefix": JOB_TICK,
        "task_names": [square_name],
        "object_id": held.hex(),
        "placement_group_name": "dashboard-ui-pg",
        "stop_job": True,
        "failed_task_id": failed_id,
        "task_error": TASK_ERROR,
        "actor_log_line": ACTOR_LINE,
        "driver_job_id": comet.get_runtime_context().get_job_id(),
    }
    try:
        output = _run_ui_check(url, expect, tmp_path)
    finally:
        # The UI's stop button ends the job; stop it here too if the browser did not get there.
        if http(f"{url}/api/jobs/{job_id}")["status"] not in ("STOPPED", "FAILED", "SUCCEEDED"):
            http(f"{url}/api/jobs/{job_id}/stop", {})
    print(output)

    assert http(f"{url}/api/jobs/{job_id}")["status"] == "STOPPED"
    for page in PAGES:
        assert (ARTIFACTS / f"{page}.png").stat().st_size > 0, page
    comet.get(busy)
