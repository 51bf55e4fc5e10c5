"""The state API (REST, comet.util.state and the CLI) and the dashboard's
metrics, against a real head node with a detached actor on it, finished and
failed tasks, and a live driver that holds a few objects."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from comet import _raylet
from comet.util import state
from comet.util.state import memory
from dashboard_cluster import bearer, start_cluster, wait_for

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
        print("square of", x, flush=True)
        return x * x

    @comet.remote(max_retries=0)
    def explode():
        raise ValueError("state-api boom")

    actor = Pinger.options(name="pinger", lifetime="detached").remote()
    print(comet.get(actor.ping.remote()), comet.get(square.remote(3)))
    try:
        comet.get(explode.remote())
    except Exception as e:
        print("explode failed:", type(e).__name__)
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
        assert "explode failed" in out.stdout, out
        yield c


# A driver that stays connected while the module runs: holds a small inline
# object, a large one in plasma, and passes the large one to a task that waits.
HOLDER_DRIVER = textwrap.dedent("""
    import os, sys
    import numpy as np
    import comet

    comet.init(address="auto")

    @comet.remote(num_cpus=0)
    def hold(x):
        import time
        time.sleep(600)

    small = comet.put("state-api small value")
    big = comet.put(np.ones(24 * 2**20, dtype=np.uint8))
    held = hold.remote(big)
    print("READY", small.hex(), big.hex(), held.hex(), os.getpid(), flush=True)
    sys.stdin.read()  # until the test closes stdin
    os._exit(0)
""")


@pytest.fixture(scope="module")
def holder(cluster):
    """(pid, {"small": id, "big": id, "held": id}) of a live driver holding objects."""
    env = {**cluster.env, "COMET_ADDRESS": cluster.gcs_address}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER_DRIVER], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        line = proc.stdout.readline()
        assert line.startswith("READY"), line
        _, small, big, held, pid = line.split()
        yield int(pid), {"small": small, "big": big, "held": held}
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tasks_when(cluster, cond) -> list[dict]:
    """The task rows once cond(rows) holds (the GCS gets task events about once a second)."""
    return wait_for(lambda: (lambda ts: ts if cond(ts) else None)(
        state.list_tasks(address=cluster.gcs_address)), timeout=30)


def has_task(name: str, task_state: str):
    return lambda ts: any(t["name"].endswith(name) and t["state"] == task_state for t in ts)


def driver_tasks(cluster) -> list[dict]:
    """The task rows once the actor driver's tasks have all ended there."""
    done = [has_task("explode", "FAILED"), has_task("square", "FINISHED"),
            has_task("ping", "FINISHED"), has_task("Pinger", "FINISHED")]
    return tasks_when(cluster, lambda ts: all(cond(ts) for cond in done))


def actor_row(cluster) -> dict:
    return wait_for(lambda: next((a for a in cluster.get("/api/actors")["actors"]
                                  if a["name"] == "pinger" and a["state"] == "ALIVE"), None))


ROOT = Path(__file__).resolve().parent.parent


# -- REST ---------------------------------------------------------------------------


def test_version_and_nodes(cluster):
    version = cluster.get("/api/version")
    assert version["gcs_address"] == cluster.gcs_address
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


def test_hardware_and_worker_figures(cluster):
    """The raylet reads the machine and its workers from /proc every second:
    the figures reach /api/hardware, the worker rows and /metrics, and match
    what the kernel says of the same processes."""
    import psutil

    actor = actor_row(cluster)
    reply = wait_for(lambda: (lambda r: r if r["nodes"] and r["nodes"][0]["sampled_at_ms"]
                              else None)(cluster.get("/api/hardware")), timeout=30)
    assert reply["errors"] == []
    hw = reply["nodes"][0]
    assert hw["num_cpus"] == psutil.cpu_count()
    assert 0 <= hw["cpu_percent"] <= 100
    assert hw["memory_total_bytes"] == psutil.virtual_memory().total
    assert 0 < hw["memory_used_bytes"] < hw["memory_total_bytes"]
    assert 0 < hw["disk_used_bytes"] <= hw["disk_total_bytes"]

    seen = []

    def actor_worker():  # a reading is up to a second old: the worker may have grown since
        rows_ = cluster.get("/api/workers")["workers"]
        row = next((w for w in rows_ if w["pid"] == actor["pid"]), None)
        rss = psutil.Process(actor["pid"]).memory_info().rss
        seen.append((row and row["rss_bytes"], rss))
        return row if row and rss / 2 < row["rss_bytes"] < rss * 2 else None

    try:
        row = wait_for(actor_worker, timeout=30)
    except AssertionError:
        raise AssertionError(f"worker RSS (reported, psutil) {seen[-5:]}") from None
    assert row["cpu_percent"] >= 0

    text = cluster.http("GET", "/metrics")[1]
    node_id = hw["node_id"]
    for name in ("comet_node_cpus", "comet_node_cpu_percent", "comet_node_memory_size_bytes",
                 "comet_node_memory_used_bytes", "comet_node_disk_size_bytes",
                 "comet_node_network_received_bytes_total"):
        assert re.search(rf'^{name}{{node_id="{node_id}"}} [0-9.e+]+$', text, re.M), name
    assert "# TYPE comet_node_network_sent_bytes_total counter" in text
    assert re.search(rf'^comet_node_memory_size_bytes{{node_id="{node_id}"}} '
                     rf'{psutil.virtual_memory().total}$', text, re.M)


def test_grafana_dashboard_queries_metrics_that_exist(cluster):
    """Every metric docs/grafana/comet-cluster.json queries is exported, by
    the dashboard's /metrics or by the raylet's."""
    dashboard = json.loads((ROOT / "docs" / "grafana" / "comet-cluster.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    wanted = {re.sub(r"_bucket$", "", name) for e in exprs
              for name in re.findall(r"\b(comet_[a-z_]+)\b", e)}
    assert len(wanted) >= 15, wanted
    node = next(n for n in cluster.get("/api/nodes")["nodes"] if n["state"] == "ALIVE")
    raylet_url = f"http://{node['node_manager_address']}:{node['metrics_export_port']}/metrics"
    request = urllib.request.Request(raylet_url, headers=bearer())

    def missing() -> set[str]:
        text = cluster.http("GET", "/metrics")[1]
        text += urllib.request.urlopen(request, timeout=10).read().decode()
        return wanted - set(re.findall(r"^# TYPE (\S+) ", text, re.M))

    deadline = time.monotonic() + 30
    while missing() and time.monotonic() < deadline:
        time.sleep(0.5)  # the hardware families appear after the raylet's first reading
    assert not missing(), f"queried but not exported: {missing()}"


def test_tasks_endpoint(cluster):
    driver_tasks(cluster)
    body = cluster.get("/api/tasks")
    assert body["dropped"] == 0
    names = {t["name"] for t in body["tasks"]}
    assert {"__main__.square", "__main__.explode", "ping"} <= names, names
    failed = cluster.get("/api/tasks?state=failed")["tasks"]
    assert [t["name"] for t in failed] == ["__main__.explode"]
    job_id = failed[0]["job_id"]
    assert {t["job_id"] for t in cluster.get(f"/api/tasks?job_id={job_id}")["tasks"]} == {job_id}
    assert len(cluster.get("/api/tasks?limit=1")["tasks"]) == 1


def test_objects_and_memory_endpoints(cluster, holder):
    pid, ids = holder
    body = cluster.get(f"/api/objects?pid={pid}")
    by_id = {o["object_id"]: o for o in body["objects"]}
    assert {ids["small"], ids["big"]} <= set(by_id), body
    big = by_id[ids["big"]]
    assert big["location"] == "plasma" and big["size"] >= 24 * 2**20 and big["node_id"]
    assert by_id[ids["small"]]["location"] == "inline"
    info = cluster.get("/api/memory")
    assert pid in [h["pid"] for h in info["holders"] if h["type"] == "DRIVER"]
    assert info["nodes"][0]["used_bytes"] >= 24 * 2**20
    assert info["summary"]["objects"] >= 2 and info["summary"]["total_bytes"] >= 24 * 2**20


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


CPU_AVAILABLE = re.compile(r'^comet_node_resource_available\{node_id="[0-9a-f]+",'
                           r'resource="CPU"\} (.*)$', re.M)


def test_metrics_exposition(cluster):
    actor_row(cluster)
    driver_tasks(cluster)
    cluster.get("/api/nodes")  # one timed request at least
    seen = []

    def one_cpu_free():  # the actor holds one of the two CPUs
        status, text = cluster.http("GET", "/metrics")
        seen.append(CPU_AVAILABLE.findall(text) if status == 200 else f"HTTP {status}")
        return text if seen[-1] == ["1"] else None

    try:
        text = wait_for(one_cpu_free, timeout=30, interval=0.5)
    except AssertionError:
        raise AssertionError(f"available CPU never 1, saw {seen[-5:]}") from None
    assert text.endswith("\n")
    for line in text.splitlines():
        assert SAMPLE.match(line) or COMMENT.match(line), line
    assert re.search(r'^comet_node_resource_capacity\{node_id="[0-9a-f]+",resource="CPU"\} 2$',
                     text, re.M), text
    assert re.search(r"^comet_object_store_capacity_bytes\{.*\} [1-9]", text, re.M)
    assert 'comet_actors{state="ALIVE"} 1' in text
    assert 'comet_dashboard_request_seconds_count{method="GET",route="/api/nodes"}' in text
    assert re.search(r'^comet_tasks\{state="FINISHED"\} [1-9]', text, re.M), text
    for component in ("gcs", "core_worker"):  # refused gRPC calls, none here
        assert f'comet_grpc_unauthenticated_total{{component="{component}"}} 0' in text, text
    for name in ("comet_object_store_spilled_bytes", "comet_object_store_spilled_bytes_total",
                 "comet_object_store_restored_bytes_total",
                 "comet_object_manager_pulled_bytes_total"):
        assert re.search(rf'^{name}\{{node_id="[0-9a-f]+"\}} \d+$', text, re.M), name


def test_metrics_store_usage(cluster, holder):
    """The store's bytes in use (not the object_store_memory resource) reach the
    metrics and the overview's history once the holder's large object is in."""
    text = wait_for(lambda: (lambda t: t if re.search(
        r"^comet_object_store_used_bytes\{.*\} [1-9]\d{7,}$", t, re.M) else None)(
        cluster.http("GET", "/metrics")[1]), timeout=30)
    assert "comet_object_store_used_bytes{" in text
    wait_for(lambda: cluster.get("/api/metrics/history")["samples"][-1]["object_store_used"]
             >= 24 * 2**20, timeout=30)


def test_metrics_history(cluster):
    history = wait_for(lambda: (lambda h: h if h["samples"] else None)(
        cluster.get("/api/metrics/history")))
    assert history["interval_s"] == 2.0 and history["window_s"] == 600
    sample = history["samples"][-1]
    assert sample["cpu_total"] == 2 and sample["object_store_total"] > 0
    assert set(sample) >= {"time", "cpu_used", "memory_used", "memory_total",
                           "object_store_used", "object_store_spilled", "tasks", "actors",
                           "machine_cpu_percent", "machine_memory_used",
                           "machine_memory_total"}
    assert 0 <= sample["machine_cpu_percent"] <= 100
    assert 0 < sample["machine_memory_used"] < sample["machine_memory_total"]
    wait_for(lambda: cluster.get("/api/metrics/history")["samples"][-1]["tasks"].get("FINISHED"),
             timeout=30)


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


def test_python_task_rows(cluster):
    tasks = driver_tasks(cluster)
    failed = next(t for t in tasks if t["name"] == "__main__.explode")
    assert failed["state"] == "FAILED" and failed["type"] == "NORMAL_TASK"
    # As Ray's error_message: where it ran, the user's frame, the exception's own line.
    error = failed["error"].splitlines()
    assert f"pid={failed['worker_pid']}" in error[0], error
    assert any(line.strip().startswith('File ') and line.endswith('in explode') for line in error), error
    assert error[-1] == "ValueError: state-api boom", error
    assert failed["attempt"] == 0 and failed["worker_pid"] > 0 and failed["end_time_ms"]
    square = next(t for t in tasks if t["name"] == "__main__.square")
    assert square["state"] == "FINISHED" and not square["error"]
    assert square["start_time_ms"] <= square["end_time_ms"]
    actor = state.list_actors(address=cluster.gcs_address, filters={"name": "pinger"})[0]
    ping = next(t for t in tasks if t["name"] == "ping")
    assert ping["type"] == "ACTOR_TASK" and ping["actor_id"] == actor["actor_id"]
    assert ping["worker_pid"] == actor["pid"]
    creation = [t for t in tasks if t["type"] == "ACTOR_CREATION_TASK"]
    assert actor["actor_id"] in [t["actor_id"] for t in creation]
    summary = state.summarize_tasks(address=cluster.gcs_address)
    assert summary["by_name"]["__main__.explode"] == {"FAILED": 1}
    assert summary["by_state"]["FINISHED"] >= 3
    assert len(state.list_tasks(address=cluster.gcs_address, limit=2)) == 2
    only = state.list_tasks(address=cluster.gcs_address, filters={"state": "failed"})
    assert [t["task_id"] for t in only] == [failed["task_id"]]


def test_python_objects_and_memory(cluster, holder):
    pid, ids = holder
    info = state.memory_info(address=cluster.gcs_address)
    refs = {o["object_id"]: o for o in info["objects"] if o["pid"] == pid}
    small, big = refs[ids["small"]], refs[ids["big"]]
    assert small["ownership"] == big["ownership"] == "OWNED"
    assert small["type"] == "DRIVER" and small["reference_type"] == "LOCAL_REFERENCE"
    assert small["location"] == "inline" and 0 < small["size"] < 2**20
    node = state.list_nodes(address=cluster.gcs_address)[0]
    assert big["location"] == "plasma" and big["node_id"] == node["node_id"]
    assert big["size"] >= 24 * 2**20
    # The pending task's argument, and its not-yet-created return value.
    assert wait_for(lambda: next(
        (o for o in state.list_objects(address=cluster.gcs_address,
                                       filters={"object_id": ids["big"], "pid": str(pid)})
         if o["submitted_task_refs"] > 0), None), timeout=20)
    assert refs[ids["held"]]["location"] == "pending" and refs[ids["held"]]["size"] == -1
    store = info["nodes"][0]
    assert store["node_id"] == node["node_id"] and store["num_objects"] >= 1
    assert store["capacity_bytes"] > store["used_bytes"] >= 24 * 2**20
    summary = state.summarize_objects(address=cluster.gcs_address)
    assert summary["by_location"].get("plasma", 0) >= 1 and summary["objects"] >= 3


def test_memory_skips_a_process_that_does_not_answer(cluster):
    """A "driver" that accepts connections but never answers is skipped with a note."""
    real = _raylet.StateClient(cluster.gcs_address)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]

        class Client:
            def nodes(self):
                return real.nodes()

            def jobs(self):
                return real.jobs() + [{"job_id": "7f000000", "is_dead": False, "driver_pid": 1,
                                       "driver_address": {"ip_address": "127.0.0.1",
                                                          "port": port, "node_id": ""}}]

        info = memory.gather(Client(), timeout_s=0.5)
    skipped = [s for s in info["skipped"] if s["address"] == f"127.0.0.1:{port}"]
    assert len(skipped) == 1 and skipped[0]["type"] == "DRIVER" and skipped[0]["error"]
    assert info["nodes"] and info["holders"]


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


def test_cli_task_commands(cluster, tmp_path):
    driver_tasks(cluster)
    listing = cluster.cli("list", "tasks", "--filter", "state=FAILED")
    assert listing.returncode == 0 and "__main__.explode" in listing.stdout, listing
    assert "1 tasks." in listing.stdout and "square" not in listing.stdout
    # The table keeps one line per task: the error's last line, not the traceback.
    row = next(line for line in listing.stdout.splitlines() if "__main__.explode" in line)
    assert row.rstrip().endswith("ValueError: state-api boom"), listing.stdout
    assert "File " not in listing.stdout, listing.stdout
    actor_tasks = json.loads(cluster.cli("list", "tasks", "--filter", "type=ACTOR_TASK",
                                         "--format", "json").stdout)
    assert [t["name"] for t in actor_tasks] == ["ping"]
    summary = cluster.cli("summary", "tasks")
    assert summary.returncode == 0 and "__main__.square" in summary.stdout
    assert "FAILED 1" in summary.stdout
    out = tmp_path / "trace.json"
    result = cluster.cli("timeline", "--output", out)
    assert result.returncode == 0, result.stderr
    events = json.loads(out.read_text())
    done = [t for t in state.list_tasks(address=cluster.gcs_address)
            if t["state"] in ("FINISHED", "FAILED")]
    finished_events = [e for e in events if e["args"]["state"] in ("FINISHED", "FAILED")]
    assert len(finished_events) == len(done) and all(e["ph"] == "X" for e in events)
    assert {(e["args"]["task_id"], e["args"]["attempt"]) for e in finished_events} == \
        {(t["task_id"], t["attempt"]) for t in done}
    ping = next(e for e in events if e["name"] == "ping")
    actor = actor_row(cluster)
    assert ping["tid"] == actor["pid"] and ping["pid"].startswith("node ")
    assert ping["dur"] >= 0 and ping["ts"] > 0 and ping["args"]["type"] == "ACTOR_TASK"


def test_cli_objects_and_memory(cluster, holder):
    pid, ids = holder
    listing = cluster.cli("list", "objects", "--filter", f"pid={pid}")
    assert listing.returncode == 0, listing.stderr
    assert ids["small"] in listing.stdout and ids["big"] in listing.stdout
    summary = cluster.cli("summary", "objects")
    assert summary.returncode == 0 and "plasma" in summary.stdout, summary
    assert f"DRIVER pid {pid}" in summary.stdout
    result = cluster.cli("memory")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert f"Driver pid {pid}" in text and ids["big"] in text and "LOCAL_REFERENCE" in text
    assert "Object store per node" in text and "MiB" in text
    as_json = json.loads(cluster.cli("memory", "--format", "json").stdout)
    assert set(as_json) == {"holders", "objects", "nodes", "skipped"}


def test_cli_logs(cluster):
    listing = cluster.cli("logs")
    assert listing.returncode == 0 and "raylet.out" in listing.stdout
    raylet = cluster.cli("logs", "raylet.out", "--tail", "1")
    assert raylet.returncode == 0 and "raylet ready" in raylet.stdout
    actor = actor_row(cluster)
    actor_logs = cluster.cli("logs", "--actor-id", actor["actor_id"][:12])
    assert actor_logs.returncode == 0 and "pinger says hello" in actor_logs.stdout, actor_logs
    # Whole names, which a user copies into `comet logs NAME`.
    listing = cluster.cli("logs")
    names = re.findall(r"worker-[0-9a-f]{56}\.out", listing.stdout)
    assert names and "…" not in listing.stdout, listing.stdout
    assert cluster.cli("logs", names[0]).returncode == 0
    driver_tasks(cluster)
    tasks = json.loads(cluster.cli("list", "tasks", "--filter", "state=FINISHED",
                                   "--format", "json").stdout)
    square = [t for t in tasks if t["name"].endswith("square")][0]
    task_logs = cluster.cli("logs", "--task-id", square["task_id"][:16])
    assert task_logs.returncode == 0 and "square of 3" in task_logs.stdout, task_logs
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
