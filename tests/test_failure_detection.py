"""Processes that die without saying so, on clusters started with the CLI: a
driver killed with SIGKILL (its job finishes, taking its non-detached actors
and placement groups with it), and a worker killed while the tasks it
submitted hold leases on another node (those leases end)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import comet
from cli_cluster import cli
from comet.exceptions import WorkerCrashedError
from comet.util import state
from conftest import wait_for_condition

NAMESPACE = "failure-detection"

DRIVER = """
import json, os, sys, time
import comet
from comet.util import placement_group

comet.init(address=sys.argv[1], namespace=sys.argv[3])

@comet.remote(num_cpus=1)
class Owned:
    def pid(self):
        return os.getpid()

@comet.remote(num_cpus=0)
class Survivor:
    def pid(self):
        return os.getpid()

owned = Owned.remote()
survivor = Survivor.options(name="survivor", lifetime="detached").remote()
pg = placement_group([{"CPU": 1}])
assert pg.wait(60)
info = {"job_id": comet.get_runtime_context().get_job_id(),
        "owned_pid": comet.get(owned.pid.remote(), timeout=60),
        "survivor_pid": comet.get(survivor.pid.remote(), timeout=60),
        "pg_id": pg.id.hex()}
with open(sys.argv[2] + ".tmp", "w") as f:
    json.dump(info, f)
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
time.sleep(600)
"""


def read_json_when_there(path: Path, timeout: float) -> dict:
    assert wait_for_condition(path.exists, timeout=timeout), f"{path} never appeared"
    return json.loads(path.read_text())


def process_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def only(rows: list[dict]) -> dict:
    assert len(rows) == 1, rows
    return rows[0]


@pytest.mark.timeout(180)
def test_a_killed_drivers_job_finishes_and_its_actors_and_groups_go(cluster, tmp_path):
    cluster.start_head("--num-cpus", "3")
    gcs = cluster.gcs_address
    info_path = tmp_path / "driver.json"
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    driver = subprocess.Popen([sys.executable, str(script), gcs, str(info_path), NAMESPACE])
    try:
        info = read_json_when_there(info_path, timeout=90)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
    job_id = info["job_id"]

    # The raylet notices the driver is gone; the GCS finishes its job.
    def job_row() -> dict:
        return only(state.list_jobs(address=gcs, filters={"job_id": job_id}))

    assert wait_for_condition(lambda: job_row()["status"] != "RUNNING", timeout=60), job_row()
    assert job_row()["end_time"]
    listed = cli("list", "jobs", "--address", gcs, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert only([j for j in json.loads(listed.stdout) if j["job_id"] == job_id])["status"] \
        != "RUNNING"

    # Its actor dies with it; the detached one does not.
    def actor_states() -> dict[str, str]:
        return {a["class_name"].rsplit(".", 1)[-1]: a["state"]
                for a in state.list_actors(address=gcs, filters={"job_id": job_id})}

    assert wait_for_condition(lambda: actor_states().get("Owned") == "DEAD", timeout=60), \
        actor_states()
    assert wait_for_condition(lambda: process_gone(info["owned_pid"]), timeout=30)
    assert actor_states()["Survivor"] == "ALIVE"

    # Its placement group is removed and the resources come back.
    def pg_state() -> str:
        return only([p for p in state.list_placement_groups(address=gcs)
                     if p["placement_group_id"] == info["pg_id"]])["state"]

    assert wait_for_condition(lambda: pg_state() == "REMOVED", timeout=60), pg_state()
    comet.init(address=gcs, namespace=NAMESPACE)
    assert wait_for_condition(
        lambda: comet.available_resources().get("CPU") == 3, timeout=60), \
        comet.available_resources()
    survivor = comet.get_actor("survivor")
    assert comet.get(survivor.pid.remote(), timeout=60) == info["survivor_pid"]
    comet.kill(survivor)


@pytest.mark.timeout(180)
def test_leases_held_for_a_killed_worker_on_another_node_end(cluster, tmp_path):
    cluster.start_head("--num-cpus", "1", "--resources", '{"a": 1}')
    cluster.add_node("--num-cpus", "1", "--resources", '{"b": 2}')
    comet.init(address=cluster.gcs_address)
    assert wait_for_condition(
        lambda: len([n for n in comet.nodes() if n["Alive"]]) == 2, timeout=30)
    pids_dir = tmp_path / "pids"
    pids_dir.mkdir()

    @comet.remote(num_cpus=0, resources={"b": 1})
    def hold(pids: str) -> None:
        (Path(pids) / f"hold-{os.getpid()}").touch()
        time.sleep(600)

    @comet.remote(num_cpus=0, resources={"a": 1}, max_retries=0)
    def submit_and_wait(pids: str) -> None:
        refs = [hold.remote(pids) for _ in range(2)]  # noqa: F841 (held until killed)
        (Path(pids) / f"submitter-{os.getpid()}").touch()
        time.sleep(600)

    def pids(prefix: str) -> list[int]:
        return [int(p.name.split("-")[1]) for p in pids_dir.glob(f"{prefix}-*")]

    submitted = submit_and_wait.remote(str(pids_dir))
    # Both tasks run on B, holding all of its "b".
    assert wait_for_condition(lambda: len(pids("hold")) == 2, timeout=90)
    assert wait_for_condition(lambda: comet.available_resources().get("b", 0) == 0, timeout=30)
    (submitter,) = pids("submitter")

    os.kill(submitter, signal.SIGKILL)
    with pytest.raises(WorkerCrashedError):
        comet.get(submitted, timeout=60)
    # B's raylet hears from the GCS that the requester died: its workers go.
    assert wait_for_condition(lambda: comet.available_resources().get("b") == 2, timeout=60), \
        comet.available_resources()
    assert wait_for_condition(lambda: all(process_gone(p) for p in pids("hold")), timeout=30)
    assert len([n for n in comet.nodes() if n["Alive"]]) == 2
    # B takes new work.
    on_b = comet.remote(num_cpus=0, resources={"b": 2})(lambda: "done")
    assert comet.get(on_b.remote(), timeout=60) == "done"
