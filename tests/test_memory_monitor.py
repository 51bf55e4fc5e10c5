"""The raylet's memory monitor with real processes: a task that makes the
node's memory use pass memory_usage_threshold is killed before the kernel's
OOM killer acts, fails with OutOfMemoryError carrying the node's figures, or
runs again when max_retries allows; the kill is counted in /metrics.

The threshold is set a little above what the machine uses when the test
starts, and the task allocates well past that margin, so the test does not
depend on the machine's size."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import psutil
import pytest

import comet
from comet._private import auth

MIB = 1 << 20
MARGIN = 400 * MIB  # above the machine's use at the start
HOG = 1500 * MIB    # what the task allocates, in steps


def _threshold() -> float:
    memory = psutil.virtual_memory()
    return (memory.total - memory.available + MARGIN) / memory.total


def _start(comet_start):
    return comet_start(num_cpus=1, include_dashboard=False, _system_config={
        "memory_usage_threshold": _threshold(), "memory_monitor_refresh_ms": 100})


def _hog_task(**options):
    """A task that allocates HOG bytes (touching every page), then waits to be
    killed; given a marker path, only its first attempt does (the marker file
    says it ran). Defined here so that it is pickled by value."""
    def hog(marker: str = "") -> str:
        if marker and Path(marker).exists():
            return "second attempt: no allocation"
        if marker:
            Path(marker).write_text("first attempt")
        chunks = []
        for _ in range(HOG // (50 * MIB)):
            chunks.append(bytearray(50 * MIB))  # zero-filled: the pages are touched
            time.sleep(0.02)
        time.sleep(60)
        return "not killed"

    return comet.remote(**options)(hog)


@pytest.mark.timeout(120)
def test_a_task_over_the_threshold_fails_with_out_of_memory_error(comet_start):
    _start(comet_start)
    hog = _hog_task(max_retries=0)
    with pytest.raises(comet.exceptions.OutOfMemoryError) as info:
        comet.get(hog.remote(), timeout=90)
    message = str(info.value)
    assert "running low on memory" in message and "memory_usage_threshold" in message
    assert "resident memory was" in message and "GiB" in message
    # The state API (and so the dashboard's task pages) says why.
    from comet.util import state
    from conftest import wait_for_condition

    assert wait_for_condition(lambda: any(
        t["state"] == "FAILED" and "running low on memory" in (t["error"] or "")
        for t in state.list_tasks()), timeout=30), state.list_tasks()
    # The node is fine: the next task runs.
    assert comet.get(comet.remote(lambda: 1).remote(), timeout=30) == 1
    metrics_port = comet.nodes()[0]["MetricsExportPort"]
    assert metrics_port
    request = urllib.request.Request(
        f"http://127.0.0.1:{metrics_port}/metrics",
        headers={"Authorization": f"Bearer {auth.load()['token']}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        text = reply.read().decode()
    kills = [line for line in text.splitlines()
             if line.startswith("comet_memory_monitor_kills_total")]
    assert kills and float(kills[0].split()[-1]) == 1, kills


@pytest.mark.timeout(120)
def test_a_killed_task_runs_again_when_max_retries_allows(comet_start, tmp_path):
    _start(comet_start)
    hog = _hog_task(max_retries=1)
    marker = tmp_path / "attempted"
    assert comet.get(hog.remote(str(marker)), timeout=90) == "second attempt: no allocation"
    assert marker.read_text() == "first attempt"


def test_a_bad_threshold_is_refused(comet_start):
    with pytest.raises(Exception, match="memory_usage_threshold"):
        comet_start(num_cpus=1, include_dashboard=False,
                    _system_config={"memory_usage_threshold": 1.5})


@pytest.mark.timeout(150)
def test_an_actor_over_the_threshold_is_killed_and_restarts(comet_start):
    """An actor's worker is a candidate too (retriable when max_restarts != 0):
    the call that allocated fails naming the memory monitor, the actor comes
    back, and the node's stats count the kill (the dashboard's Nodes page)."""
    _start(comet_start)

    @comet.remote(max_restarts=1)
    class Hog:
        def __init__(self):
            self.chunks = []

        def grow(self) -> str:
            for _ in range(HOG // (50 * MIB)):
                self.chunks.append(bytearray(50 * MIB))
                time.sleep(0.02)
            time.sleep(60)
            return "not killed"

        def ping(self) -> int:
            return len(self.chunks)

    hog = Hog.remote()
    assert comet.get(hog.ping.remote(), timeout=30) == 0
    with pytest.raises(comet.exceptions.RayActorError) as info:
        comet.get(hog.grow.remote(), timeout=90)
    assert "running low on memory" in str(info.value), str(info.value)
    # Restarted (max_restarts=1) with fresh state, on a node that serves.
    assert comet.get(hog.ping.remote(), timeout=60) == 0
    from comet import _raylet
    from comet.util import state

    node = state.list_nodes()[0]
    stats = _raylet.node_stats(node["raylet_address"])
    assert int(stats["memory_monitor_kills"]) == 1, stats
