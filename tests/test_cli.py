"""The `comet` CLI (start/stop/status) with real daemons: each test has its own
--temp-dir and stops what it started with `comet stop --temp-dir`."""

from __future__ import annotations

import importlib.util
import json
import signal
import socket
import subprocess

import pytest

import comet
from cli_cluster import CLI, assert_one_line_error, cli, free_port, processes_of
from conftest import wait_for_condition

def test_three_nodes_status_and_stop(cluster):
    head = cluster.start_head("--num-cpus", "1")
    assert cluster.gcs_address in head.stdout and "comet start --address=" in head.stdout
    head_id = cluster.node_id()
    special_id = cluster.add_node("--num-cpus", "1", "--resources", '{"special": 1}')
    other_id = cluster.add_node("--num-cpus", "1")
    ids = {head_id, special_id, other_id}
    assert len(ids) == 3

    comet.init(address="auto", _temp_dir=str(cluster.temp_dir))
    assert wait_for_condition(lambda: sum(n["Alive"] for n in comet.nodes()) == 3)
    assert comet.cluster_resources()["CPU"] == 3
    assert comet.cluster_resources()["special"] == 1

    @comet.remote(num_cpus=0)
    def where():
        return comet.get_runtime_context().get_node_id()

    assert comet.get(where.remote(), timeout=30) in ids
    comet.shutdown()

    status = cli("status", "--address", cluster.gcs_address)
    assert status.returncode == 0, status.stderr
    assert "3 node(s) alive" in status.stdout
    for node_id in ids:
        assert node_id in status.stdout
    assert "special" in status.stdout

    stop = cli("stop", "--temp-dir", cluster.temp_dir)
    assert stop.returncode == 0, stop.stderr
    assert "Stopped" in stop.stdout
    assert wait_for_condition(lambda: not processes_of(cluster.temp_dir), timeout=10)
    assert "No Comet processes" in cli("stop", "--temp-dir", cluster.temp_dir).stdout


@pytest.mark.timeout(60)
def test_custom_resource_task_runs_on_the_node_that_has_it(cluster):
    cluster.start_head("--num-cpus", "1")
    comet.init(address=cluster.gcs_address)  # the only node: the driver's is the head
    special_id = cluster.add_node("--num-cpus", "1", "--resources", '{"special": 1}')
    assert wait_for_condition(lambda: comet.cluster_resources().get("special") == 1)

    @comet.remote(num_cpus=0, resources={"special": 1})
    def where():
        return comet.get_runtime_context().get_node_id()

    assert comet.get(where.remote(), timeout=15) == special_id


def test_bad_resources_json(tmp_path):
    for bad in ("{bad", "[1]", '{"special": "x"}', '{"CPU": 1}'):
        result = cli("start", "--head", "--port", free_port(), "--temp-dir", tmp_path,
                     "--resources", bad)
        assert_one_line_error(result, "--resources")
    assert not processes_of(tmp_path)


def test_address_with_nothing_listening(tmp_path):
    port = free_port()
    result = cli("start", "--address", f"127.0.0.1:{port}", "--temp-dir", tmp_path)
    assert_one_line_error(result, "nothing listens", str(port))
    result = cli("status", "--address", f"127.0.0.1:{port}")
    assert_one_line_error(result, str(port))


def test_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("start", "--head", "--port", port, "--temp-dir", tmp_path)
    assert_one_line_error(result, "already in use", str(port))
    assert not processes_of(tmp_path)


def test_second_head_on_the_same_port(cluster, tmp_path):
    cluster.start_head("--num-cpus", "1")
    port = cluster.gcs_address.rsplit(":", 1)[1]
    result = cli("start", "--head", "--port", port, "--temp-dir", tmp_path / "other")
    assert_one_line_error(result, "already in use", port)
    assert not processes_of(tmp_path / "other")
    assert "1 node(s) alive" in cli("status", "--address", cluster.gcs_address).stdout


def test_daemon_that_cannot_bind(tmp_path):
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the GCS fails to bind.
    result = cli("start", "--head", "--port", free_port(), "--temp-dir", tmp_path,
                 "--node-ip-address", "192.0.2.1", "--no-include-dashboard")
    assert_one_line_error(result, "gcs_server failed to start")
    assert not processes_of(tmp_path)


def test_block_stops_the_node_on_sigterm(tmp_path):
    proc = subprocess.Popen([*CLI, "start", "--head", "--port", str(free_port()),
                             "--temp-dir", str(tmp_path), "--no-include-dashboard", "--block"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_condition(
            lambda: (tmp_path / "session_latest" / "gcs_address").exists() or
            proc.poll() is not None, timeout=30)
        assert proc.poll() is None, proc.stderr.read()
        assert len(processes_of(tmp_path)) >= 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert wait_for_condition(lambda: not processes_of(tmp_path), timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        cli("stop", "--force", "--temp-dir", tmp_path)


@pytest.mark.skipif(importlib.util.find_spec("comet.dashboard") is None,
                    reason="comet.dashboard is not installed")
def test_head_with_dashboard(tmp_path):
    port = free_port()
    try:
        result = cli("start", "--head", "--port", free_port(), "--temp-dir", tmp_path,
                     "--include-dashboard", "--dashboard-port", port)
        assert result.returncode == 0, result.stderr
        info = json.loads((tmp_path / "session_latest" / "session.json").read_text())
        assert info["dashboard_url"] == f"http://127.0.0.1:{port}"
    finally:
        assert cli("stop", "--temp-dir", tmp_path).returncode == 0
    assert wait_for_condition(lambda: not processes_of(tmp_path), timeout=10)


def test_stop_with_nothing_running(tmp_path):
    result = cli("stop", "--temp-dir", tmp_path)
    assert result.returncode == 0
    assert "No Comet processes" in result.stdout
