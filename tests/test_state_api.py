"""The state API (REST, comet.util.state and the CLI) and the dashboard's
metrics, against a real head node with a detached actor on it."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import textwrap

import pytest

from comet import _raylet
from comet.util import state
from dashboard_cluster import start_cluster, wait_for

HAS_TASKS = hasattr(_raylet.StateClient, "tasks")
NO_TASKS = "the C++ task-events table (StateClient.tasks) is not in this build yet"

ACTOR_DRIVER = textwrap.dedent("""
    import os, sys
    import comet

    comet.init(address="auto")

    @comet.remote(num_cpus=1)
    class Pinger:
        def ping(self):
            print("pinger says hello", flush=True)
            return "pong"

    @comet.remote
    def square(x):
        return x * x

    actor = Pinger.options(name="pinger", lifetime="detached").remote()
    print(comet.get(actor.ping.remote()), comet.get(square.remote(3)))
    sys.stdout.flush()
    os._exit(0)  # skips a teardown crash of the C++ core that is not under test here
""")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    for c in start_cluster(tmp_path_factory, "state"):
        env = {**c.env, "COMET_ADDRESS": c.gcs_address}
        out = subprocess.run([sys.executable, "-c", ACTOR_DRIVER], env=env, text=True,
                             capture_output=True, timeout=120)
        assert out.returncode == 0 and "pong 9" in out.stdout, out
        yield c


def actor_row(cluster) -> dict:
    return wait_for(lambda: next((a for a in cluster.get("/api/actors")["actors"]
                                  if a["name"] == "pinger" and a["state"] == "ALIVE"), None))


# -- REST ---------------------------------------------------------------------------


def test_version_and_nodes(cluster):
    version = cluster.get("/api/version")
    assert version["gcs_address"] == cluster.gcs_address
    assert version["tasks_available"] == HAS_TASKS
    nodes = cluster.get("/api/nodes")["nodes"]
    assert len(nodes) == 1 and nodes[0]["state"] == "ALIVE" and nodes[0]["is_head"]
    assert nodes[0]["session_dir"] == cluster.session_dir
    assert nodes[0]["total_resources"]["CPU"] == 2


def test_actors_with_filters(cluster):
    actor = actor_row(cluster)
    assert actor["class_name"].endswith("Pinger") and actor["pid"] > 0
    alive = cluster.get("/api/actors?state=alive")["actors"]
    assert actor["actor_id"] in [a["actor_id"] for a in alive]
    assert cluster.get("/api/actors?state=NOPE")["actors"] == []
    assert len(cluster.get("/api/actors?limit=0")["actors"]) == 0
    status, body = cluster.http("GET", "/api/actors?limit=x")
    assert status == 400 and "limit" in body["error"]


def test_workers_placement_groups_cluster_status(cluster):
    actor = actor_row(cluster)
    workers = cluster.get("/api/workers")
    assert workers["errors"] == []
    assert actor["pid"] in [w["pid"] for w in workers["workers"]]
    assert cluster.get("/api/placement_groups") == {"placement_groups": []}
    status = wait_for(lambda: (lambda s: s if s["used"].get("CPU") == 1 else None)(
        cluster.get("/api/cluster_status")))
    assert status["total"]["CPU"] == 2 and status["available"]["CPU"] == 1
    assert len(status["nodes"]) == 1 and status["pending_demands"] == []
    assert not any(k.startswith("node") for k in status["total"])


def test_tasks_endpoint(cluster):
    body = cluster.get("/api/tasks")
    assert body["available"] == HAS_TASKS
    if HAS_TASKS:
        assert "square" in [t["name"] for t in body["tasks"]]
    else:
        assert body["tasks"] == [] and "not available" in body["message"]


def test_logs_endpoints(cluster):
    listing = cluster.get("/api/logs")["nodes"]
    assert len(listing) == 1 and "raylet.out" in [f["name"] for f in listing[0]["files"]]
    node_id = listing[0]["node_id"]
    only = cluster.get(f"/api/logs?node_id={node_id}&filename=raylet")["nodes"][0]["files"]
    assert only and all("raylet" in f["name"] for f in only)
    full = cluster.get("/api/logs/file?filename=raylet.out")
    assert "raylet ready" in full["content"] and full["truncated"] is False
    tail = cluster.get(f"/api/logs/file?node_id={node_id}&filename=raylet.out&lines=0")
    assert tail["content"] == "" and tail["truncated"] is True
    for path, code in [("/api/logs/file?filename=nope.log", 404),
                       ("/api/logs/file?filename=../session.json", 400),
                       ("/api/logs?node_id=ffff", 404), ("/api/no-such-thing", 404)]:
        status, body = cluster.http("GET", path)
        assert status == code and body["error"], (path, body)


# -- metrics ------------------------------------------------------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_VALUE = r"(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN)"
_LABEL = rf'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^{_NAME}(?:\{{(?:{_LABEL}(?:,{_LABEL})*)?\}})? {_VALUE}(?: -?\d+)?$")
COMMENT = re.compile(rf"^# (?:HELP {_NAME} .*|TYPE {_NAME} "
                     r"(?:counter|gauge|histogram|summary|untyped))$")


def test_metrics_exposition(cluster):
    actor_row(cluster)
    cluster.get("/api/nodes")  # one timed request at least
    status, text = cluster.http("GET", "/metrics")
    assert status == 200 and text.endswith("\n")
    for line in text.splitlines():
        assert SAMPLE.match(line) or COMMENT.match(line), line
    assert re.search(r'^comet_node_resources_total\{node_id="[0-9a-f]+",resource="CPU"\} 2$',
                     text, re.M), text
    assert re.search(r'^comet_node_resources_available\{node_id="[0-9a-f]+",'
                     r'resource="CPU"\} 1$', text, re.M)
    assert re.search(r"^comet_object_store_capacity_bytes\{.*\} [1-9]", text, re.M)
    assert 'comet_actors{state="ALIVE"} 1' in text
    assert 'comet_dashboard_request_seconds_count{method="GET",route="/api/nodes"}' in text
    assert ("comet_tasks{" in text) == HAS_TASKS


def test_metrics_history(cluster):
    history = wait_for(lambda: (lambda h: h if h["samples"] else None)(
        cluster.get("/api/metrics/history")))
    assert history["interval_s"] == 2.0 and history["window_s"] == 600
    sample = history["samples"][-1]
    assert sample["cpu_total"] == 2 and sample["object_store_total"] > 0
    assert set(sample) >= {"time", "cpu_used", "memory_used", "memory_total",
                           "object_store_used", "tasks", "actors"}


# -- Python API ---------------------------------------------------------------------


def test_python_state_api(cluster):
    actor = actor_row(cluster)
    address = cluster.gcs_address
    assert [n["state"] for n in state.list_nodes(address=address)] == ["ALIVE"]
    assert actor["actor_id"] in [a["actor_id"] for a in
                                 state.list_actors(address=address, filters={"state": "ALIVE"})]
    assert state.summarize_actors(address=address)["by_state"].get("ALIVE") == 1
    assert actor["pid"] in [w["pid"] for w in state.list_workers(address=address)]
    assert state.list_placement_groups(address=address) == []
    assert any(j["type"] == "DRIVER" for j in state.list_jobs(address=address))
    if HAS_TASKS:
        assert state.summarize_tasks(address=address)["by_name"]
    else:
        with pytest.raises(state.StateDataUnavailable, match="not available"):
            state.list_tasks(address=address)


# -- CLI ----------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["nodes", "actors", "jobs", "workers",
                                      "placement-groups"])
def test_cli_list(cluster, resource):
    table = cluster.cli("list", resource)
    assert table.returncode == 0, table.stderr
    as_json = cluster.cli("list", resource, "--format", "json", "--address", cluster.gcs_address)
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert isinstance(rows, list) and (rows or resource == "placement-groups")


def test_cli_list_filters_and_summary(cluster):
    actor = actor_row(cluster)
    alive = cluster.cli("list", "actors", "--filter", "state=ALIVE", "--filter", "name=pinger")
    assert actor["actor_id"] in alive.stdout and "1 actors." in alive.stdout
    none = cluster.cli("list", "actors", "--filter", "state=DEAD")
    assert none.returncode == 0 and "No actors found." in none.stdout
    bad = cluster.cli("list", "actors", "--filter", "state")
    assert bad.returncode != 0 and "KEY=VALUE" in bad.stderr
    summary = cluster.cli("summary", "actors")
    assert summary.returncode == 0 and "ALIVE 1" in summary.stdout and "Pinger" in summary.stdout


@pytest.mark.parametrize("command", [["list", "tasks"], ["summary", "tasks"], ["timeline"]])
def test_cli_task_commands_without_task_data(cluster, command):
    if HAS_TASKS:
        pytest.skip("this build has task data; see test_cli_task_commands")
    result = cluster.cli(*command)
    assert result.returncode != 0 and "task data is not available" in result.stderr


@pytest.mark.skipif(not HAS_TASKS, reason=NO_TASKS)
def test_cli_task_commands(cluster, tmp_path):
    assert "square" in wait_for(lambda: cluster.cli("list", "tasks").stdout)
    assert "square" in cluster.cli("summary", "tasks").stdout
    out = tmp_path / "trace.json"
    assert cluster.cli("timeline", "--output", out).returncode == 0
    events = json.loads(out.read_text())
    assert events and all(e["ph"] == "X" and "pid" in e and "tid" in e for e in events)


def test_cli_memory_says_object_data_is_missing(cluster):
    result = cluster.cli("memory")
    assert result.returncode == 0, result.stderr
    assert "Object store usage per node" in result.stdout
    assert "object data is not available" in result.stdout
    objects = cluster.cli("list", "objects")
    assert objects.returncode != 0 and "object data is not available" in objects.stderr


def test_cli_logs(cluster):
    listing = cluster.cli("logs")
    assert listing.returncode == 0 and "raylet.out" in listing.stdout
    raylet = cluster.cli("logs", "raylet.out", "--tail", "1")
    assert raylet.returncode == 0 and "raylet ready" in raylet.stdout
    actor = actor_row(cluster)
    actor_logs = cluster.cli("logs", "--actor-id", actor["actor_id"][:12])
    assert actor_logs.returncode == 0 and "pinger says hello" in actor_logs.stdout, actor_logs
    missing = cluster.cli("logs", "nope.log")
    assert missing.returncode != 0 and "nope.log" in missing.stderr


# -- static files -------------------------------------------------------------------


def test_static_files_and_spa_fallback(tmp_path):
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from comet.dashboard import static_routes

    (tmp_path / "index.html").write_text("<html>spa</html>")
    (tmp_path / "app.js").write_text("console.log(1)")

    async def check() -> None:
        app = web.Application()
        static_routes.add_routes(app, str(tmp_path))
        async with TestClient(TestServer(app)) as client:
            for path, body in [("/", "<html>spa</html>"), ("/app.js", "console.log(1)"),
                               ("/jobs/123", "<html>spa</html>"),
                               ("/../etc/passwd", "<html>spa</html>")]:
                resp = await client.get(path)
                assert resp.status == 200 and await resp.text() == body, path
            assert (await client.get("/api/unknown")).status == 404

    asyncio.run(check())
