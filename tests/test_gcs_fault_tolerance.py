"""The GCS survives: `kill -9` of gcs_server under a live 2-node cluster
started with the CLI. The head's supervisor starts it again on the same port,
it reloads its tables (SQLite in the session folder, or a real redis-server
started here), raylets and drivers carry on. A GCS that stays away past
gcs_rpc_server_reconnect_timeout_s gives a clear error."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time

import psutil
import pytest

import comet
from comet._private import worker_context
from cli_cluster import Cluster, cli, free_port, processes_of
from conftest import wait_for_condition


def _gcs_pair(cluster: Cluster) -> tuple[psutil.Process, psutil.Process]:
    """The head's supervising gcs_server and the GCS it runs."""
    head_dir = cluster.session_dirs[cluster.node_id_of_head()]
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if cmd and os.path.basename(cmd[0]) == "gcs_server" and "--supervise" in cmd and \
                f"--session-dir={head_dir}" in cmd:
            children = p.children()
            assert len(children) == 1, children
            return p, children[0]
    raise LookupError("no supervised gcs_server")


def _wait_for_new_gcs(supervisor: psutil.Process, old_pid: int) -> psutil.Process:
    assert wait_for_condition(
        lambda: [c for c in supervisor.children() if c.pid != old_pid], timeout=10)
    return supervisor.children()[0]


@comet.remote
def double(i: int) -> int:
    return 2 * i


@comet.remote
def before_the_kill() -> int:
    return 7


def _finished(func_name: str, job_id: str | None = None) -> int:
    from comet.util import state
    return sum(t["state"] == "FINISHED" and t["func_name"].endswith(func_name) and
               (job_id is None or t["job_id"] == job_id) for t in state.list_tasks())


@comet.remote(max_restarts=-1)
class Counter:
    def __init__(self) -> None:
        self.n = 0

    def inc(self) -> int:
        self.n += 1
        return self.n


@pytest.mark.timeout(180)
def test_kill_9_of_the_gcs_under_a_two_node_cluster_loses_nothing(cluster, capfd):
    cluster.start_head("--num-cpus=2")
    cluster.add_node("--num-cpus=2")
    comet.init(address=cluster.gcs_address)
    counter = Counter.options(name="counter", namespace="ft", lifetime="detached").remote()
    assert comet.get(counter.inc.remote()) == 1
    group = comet.util.placement_group([{"CPU": 1}], strategy="PACK")
    assert comet.get(group.ready(), timeout=30)
    job_id = comet.get_runtime_context().get_job_id()
    supervisor, gcs = _gcs_pair(cluster)
    # Task rows reach the GCS within a second and its storage a second later.
    assert comet.get([before_the_kill.remote() for _ in range(5)]) == [7] * 5
    assert wait_for_condition(lambda: _finished("before_the_kill") == 5, timeout=20)
    time.sleep(2.5)

    errors, calls, i = [], 1, 0
    killed_at = None
    start = time.monotonic()
    # Tasks and actor calls in a loop, through the kill and the restart.
    while time.monotonic() - start < 8:
        i += 1
        try:
            assert comet.get(double.remote(i), timeout=60) == 2 * i
            if i % 10 == 0:
                calls += 1
                assert comet.get(counter.inc.remote(), timeout=60) == calls
        except Exception as e:  # noqa: BLE001 - any error is the failure
            errors.append(repr(e))
        if killed_at is None and time.monotonic() - start > 1.5:
            os.kill(gcs.pid, signal.SIGKILL)
            killed_at = time.monotonic()
    assert errors == []
    new_gcs = _wait_for_new_gcs(supervisor, gcs.pid)
    assert new_gcs.pid != gcs.pid

    # New work that needs the GCS: a function it has never seen (exported
    # through the KV store), a new actor, the named actor found by name.
    @comet.remote
    def fresh() -> str:
        print("printed after the restart")
        return "exported after the restart"

    assert comet.get(fresh.remote(), timeout=60) == "exported after the restart"
    assert comet.get(Counter.remote().inc.remote(), timeout=60) == 1
    found = comet.get_actor("counter", namespace="ft")
    assert comet.get(found.inc.remote(), timeout=60) == calls + 1  # its state is kept
    # Both nodes alive, the job listed, the group still placed and usable.
    assert wait_for_condition(
        lambda: sum(n["Alive"] for n in comet.nodes()) == 2 and len(comet.nodes()) == 2,
        timeout=20), comet.nodes()
    from comet.util import state
    assert job_id in [j["job_id"] for j in state.list_jobs()]
    # The task rows stored before the kill were reloaded.
    assert _finished("before_the_kill") == 5, state.list_tasks()
    table = comet.util.placement_group_table(group)
    assert table["state"] == "CREATED", table
    in_group = double.options(
        scheduling_strategy=comet.util.scheduling_strategies.PlacementGroupSchedulingStrategy(
            placement_group=group)).remote(21)
    assert comet.get(in_group, timeout=60) == 42
    # Workers' output still streams to the driver (its subscription resumed).
    seen: list[str] = []

    def printed() -> bool:
        captured = capfd.readouterr()
        seen.append(captured.out + captured.err)
        return "printed after the restart" in "".join(seen)

    assert wait_for_condition(printed, timeout=20), "".join(seen)[-2000:]
    comet.kill(found)


def _start_redis(port: int) -> subprocess.Popen:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: ./build.sh installs Debian's redis-server"
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    assert wait_for_condition(answers, timeout=20)
    return server


@pytest.mark.timeout(180)
def test_redis_storage_brings_the_tables_to_a_head_on_a_new_port(tmp_path):
    redis_port = free_port()
    redis = _start_redis(redis_port)
    first = Cluster(tmp_path / "first")
    second = Cluster(tmp_path / "second")
    try:
        storage = f"--gcs-storage=redis://127.0.0.1:{redis_port}/t{redis_port}"
        first.start_head("--num-cpus=1", storage)
        comet.init(address=first.gcs_address)
        actor = Counter.options(name="kept", namespace="ft", lifetime="detached").remote()
        assert comet.get(actor.inc.remote()) == 1
        worker_context.core_worker().kv_put("ft", b"key", b"value", True)
        old_job = comet.get_runtime_context().get_job_id()
        assert comet.get(before_the_kill.remote()) == 7
        assert wait_for_condition(lambda: _finished("before_the_kill", old_job) == 1, timeout=20)
        old_node = first.node_id()
        comet.shutdown()
        # The whole head goes away; a new one comes up elsewhere on the same storage.
        assert cli("stop", "--temp-dir", first.temp_dir).returncode == 0
        second.start_head("--num-cpus=1", storage)
        assert second.gcs_address != first.gcs_address
        comet.init(address=second.gcs_address)
        assert worker_context.core_worker().kv_get("ft", b"key") == b"value"
        # The old head's node is in the table; health checks find it gone.
        def nodes() -> dict[str, bool]:
            return {n["NodeID"]: n["Alive"] for n in comet.nodes()}

        assert old_node in nodes()
        assert wait_for_condition(lambda: nodes()[old_node] is False, timeout=30), nodes()
        assert nodes()[second.node_id()] is True
        from comet.util import state
        assert old_job in [j["job_id"] for j in state.list_jobs()]
        # The old GCS wrote its task rows at its stop; the new one has them.
        assert _finished("before_the_kill", old_job) == 1, state.list_tasks()
        # The detached actor is known by name and, as max_restarts allows,
        # starts again on the new head's node.
        kept = comet.get_actor("kept", namespace="ft")
        assert comet.get(kept.inc.remote(), timeout=60) == 1
        comet.kill(kept)
    finally:
        comet.shutdown()
        for c in (first, second):
            cli("stop", "--force", "--temp-dir", c.temp_dir)
            assert wait_for_condition(lambda: not processes_of(c.temp_dir), timeout=20)
        redis.kill()
        redis.wait()


@pytest.mark.timeout(120)
def test_a_gcs_that_stays_away_past_the_timeout_gives_a_clear_error(cluster):
    cluster.start_head("--num-cpus=1")
    # The driver's own setting, as every process reads COMET_<entry>.
    os.environ["COMET_GCS_RPC_SERVER_RECONNECT_TIMEOUT_S"] = "3"
    try:
        comet.init(address=cluster.gcs_address)
    finally:
        del os.environ["COMET_GCS_RPC_SERVER_RECONNECT_TIMEOUT_S"]
    assert comet.get(double.remote(1)) == 2
    supervisor, gcs = _gcs_pair(cluster)
    supervisor.kill()  # nothing starts it again
    supervisor.wait(10)
    gcs.kill()
    gcs.wait(10)

    @comet.remote
    def never_exported() -> None:
        pass

    started = time.monotonic()
    with pytest.raises(Exception) as info:
        comet.get(never_exported.remote(), timeout=60)
    waited = time.monotonic() - started
    message = str(info.value)
    assert "gcs_rpc_server_reconnect_timeout_s" in message, message
    assert "has not answered" in message, message
    assert waited >= 2.5, waited  # it waited for the GCS before giving up


@pytest.mark.timeout(120)
def test_a_gcs_restarted_without_its_tables_gets_its_nodes_back(cluster):
    cluster.start_head("--num-cpus=1", "--gcs-storage=memory")
    cluster.add_node("--num-cpus=1")
    supervisor, gcs = _gcs_pair(cluster)
    gcs.kill()
    _wait_for_new_gcs(supervisor, gcs.pid)
    from comet import _raylet

    def alive() -> int:
        try:
            return sum(n["Alive"] for n in _raylet.gcs_nodes(cluster.gcs_address))
        except ConnectionError:
            return 0

    # Each raylet's next report finds itself unknown and registers again.
    assert wait_for_condition(lambda: alive() == 2, timeout=30)
    comet.init(address=cluster.gcs_address)
    assert comet.get(double.remote(4), timeout=60) == 8
