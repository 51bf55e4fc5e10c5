"""Clusters of several raylets on this machine, started with the `comet` CLI:
scheduling across nodes (spillback), objects moving between nodes' stores,
spilling to disk under memory pressure, and a node that dies."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

import comet
from comet.exceptions import ActorDiedError, ObjectLostError
from conftest import wait_for_condition

MiB = 1024 * 1024


# A lambda, so that cloudpickle ships it by value (workers cannot import tests).
node_of_task = lambda: comet.get_runtime_context().get_node_id()  # noqa: E731


def alive_nodes() -> set[str]:
    return {n["NodeID"] for n in comet.nodes() if n["Alive"]}


@pytest.mark.timeout(120)
def test_custom_resource_tasks_and_spread(cluster):
    cluster.start_head("--num-cpus", "1")
    head = cluster.node_id()
    special = cluster.add_node("--num-cpus", "2", "--resources", '{"special": 4}')
    comet.init(address=cluster.gcs_address)
    assert wait_for_condition(lambda: len(alive_nodes()) == 2)

    on_special = comet.remote(resources={"special": 1})(node_of_task)
    assert set(comet.get([on_special.remote() for _ in range(8)], timeout=60)) == {special}

    # SPREAD puts tasks on both nodes.
    spread = comet.remote(num_cpus=0, scheduling_strategy="SPREAD")(node_of_task)
    assert set(comet.get([spread.remote() for _ in range(8)], timeout=60)) == {head, special}

    # An actor that needs the custom resource lives on that node.
    @comet.remote(resources={"special": 1})
    class Where:
        def node(self):
            return comet.get_runtime_context().get_node_id()

    assert comet.get(Where.remote().node.remote(), timeout=60) == special


@pytest.mark.timeout(180)
def test_large_array_moves_between_nodes(cluster):
    cluster.start_head("--num-cpus", "1", "--object-store-memory", str(400 * MiB))
    other = cluster.add_node("--num-cpus", "1", "--resources", '{"other": 1}',
                             "--object-store-memory", str(400 * MiB))
    comet.init(address=cluster.gcs_address)

    @comet.remote(resources={"other": 1})
    def produce(n):
        rng = np.random.default_rng(7)
        return rng.integers(0, 2**62, size=n, dtype=np.int64), \
            comet.get_runtime_context().get_node_id()

    n = 200 * MiB // 8
    array_ref, where_ref = produce.options(num_returns=2).remote(n)
    assert comet.get(where_ref, timeout=60) == other
    array = comet.get(array_ref, timeout=120)  # pulled to the head's store
    expected = np.random.default_rng(7).integers(0, 2**62, size=n, dtype=np.int64)
    assert array.shape == (n,) and np.array_equal(array, expected)

    # And the other way: the driver's object read by a task on the other node.
    data = np.arange(60 * MiB // 8, dtype=np.int64)
    ref = comet.put(data)

    @comet.remote(resources={"other": 1})
    def checksum(a):
        return int(a.sum()), comet.get_runtime_context().get_node_id()

    assert comet.get(checksum.remote(ref), timeout=120) == (int(data.sum()), other)


@pytest.mark.timeout(180)
def test_task_arguments_larger_than_the_node_store(cluster):
    cluster.start_head("--num-cpus", "1", "--object-store-memory", str(300 * MiB))
    cluster.add_node("--num-cpus", "1", "--resources", '{"small": 1}',
                     "--object-store-memory", str(150 * MiB))
    comet.init(address=cluster.gcs_address)
    parts = [comet.put(np.full(100 * MiB // 8, i, dtype=np.int64)) for i in range(2)]

    @comet.remote(resources={"small": 1})
    def total(a, b):
        return int(a[0] + b[0]), a.nbytes + b.nbytes

    # 200 MiB of arguments on a node whose store holds 150 MiB.
    assert comet.get(total.remote(*parts), timeout=150) == (1, 200 * MiB)


@pytest.mark.timeout(240)
def test_store_filled_three_times_over_spills_and_restores(cluster):
    store = 120 * MiB
    cluster.start_head("--num-cpus", "1", "--object-store-memory", str(store))
    cluster.add_node("--num-cpus", "1", "--resources", '{"other": 1}',
                     "--object-store-memory", str(store))
    comet.init(address=cluster.gcs_address)
    count, size = 36, 10 * MiB  # 3x the store
    refs = [comet.put(np.full(size // 8, i, dtype=np.int64)) for i in range(count)]
    spill_dir = os.path.join(cluster.session_dirs[cluster.node_id_of_head()], "spill")
    assert any(name.startswith("spill-") for name in os.listdir(spill_dir))
    # Every object reads back right, here...
    for i, ref in enumerate(refs):
        value = comet.get(ref, timeout=60)
        assert value[0] == i and value[-1] == i
        del value

    # ...and on the other node (restored here, then pulled there).
    @comet.remote(resources={"other": 1})
    def first(a):
        return int(a[0])

    assert comet.get([first.remote(r) for r in refs[::5]], timeout=180) == list(range(0, count, 5))
    # Freed objects take their spill files with them.
    del refs, ref
    assert wait_for_condition(
        lambda: not any(n.startswith("spill-") for n in os.listdir(spill_dir)), timeout=30)


@pytest.mark.timeout(180)
def test_killed_node_is_noticed_and_work_goes_on(cluster):
    cluster.env.update({"COMET_health_check_period_ms": "200",
                        "COMET_health_check_failure_threshold": "3"})
    cluster.start_head("--num-cpus", "1")
    victim = cluster.add_node("--num-cpus", "1", "--resources", '{"victim": 1}')
    comet.init(address=cluster.gcs_address)
    assert wait_for_condition(lambda: len(alive_nodes()) == 2)

    @comet.remote(resources={"victim": 1})
    def big():
        return np.ones(10 * MiB // 8)

    lost = big.remote()
    # Not pulled here: its only copy stays on the victim.
    comet.wait([lost], timeout=60, fetch_local=False)

    @comet.remote(resources={"victim": 0.5})
    class Resident:
        def ping(self):
            return "pong"

    resident = Resident.remote()
    assert comet.get(resident.ping.remote(), timeout=60) == "pong"
    cluster.raylet_of(victim).send_signal(signal.SIGKILL)
    # 200 ms x 3 failures: noticed well within a few seconds.
    assert wait_for_condition(lambda: victim not in alive_nodes(), timeout=20)
    dead = [n for n in comet.nodes() if n["NodeID"] == victim][0]
    assert not dead["Alive"]
    # Its only copy is gone with it, and so is the actor that lived there.
    with pytest.raises(ObjectLostError):
        comet.get(lost, timeout=60)
    with pytest.raises(ActorDiedError):
        comet.get(resident.ping.remote(), timeout=60)
    # New work still runs on the surviving node.
    square = comet.remote(lambda x: x * x)
    assert comet.get([square.remote(i) for i in range(10)], timeout=60) == [i * i for i in range(10)]


@pytest.mark.timeout(180)
def test_object_survives_its_node_through_a_pulled_copy(cluster):
    """The node of an object's only primary copy dies after another node pulled
    a copy: later readers get the object from that copy (the dead source is
    skipped) rather than an ObjectLostError."""
    cluster.env.update({"COMET_health_check_period_ms": "200",
                        "COMET_health_check_failure_threshold": "3"})
    cluster.start_head("--num-cpus", "1", "--resources", '{"reader": 1}')
    source = cluster.add_node("--num-cpus", "1", "--resources", '{"source": 1}')
    copier = cluster.add_node("--num-cpus", "1", "--resources", '{"copier": 1}')
    comet.init(address=cluster.gcs_address)
    assert wait_for_condition(lambda: len(alive_nodes()) == 3)

    @comet.remote(resources={"source": 1})
    def produce():
        return np.arange(30 * MiB // 8, dtype=np.int64)

    def summary(a):
        return int(a.sum()), comet.get_runtime_context().get_node_id()

    expected = int(np.arange(30 * MiB // 8, dtype=np.int64).sum())
    ref = produce.remote()
    on_copier = comet.remote(resources={"copier": 1})(summary)
    assert comet.get(on_copier.remote(ref), timeout=60) == (expected, copier)

    cluster.raylet_of(source).send_signal(signal.SIGKILL)
    assert wait_for_condition(lambda: source not in alive_nodes(), timeout=20)
    on_reader = comet.remote(resources={"reader": 1})(summary)
    head = comet.get_runtime_context().get_node_id()
    assert comet.get(on_reader.remote(ref), timeout=60) == (expected, head)
    assert int(comet.get(ref, timeout=60).sum()) == expected


CRASHING_DRIVER = """
import os, sys, time
import comet
comet.init(address=sys.argv[1])
@comet.remote
def hold():
    time.sleep(600)
refs = [hold.remote() for _ in range(2)]
deadline = time.time() + 60
while comet.available_resources().get("CPU", 0) > 0 and time.time() < deadline:
    time.sleep(0.1)
print("HOLDING", flush=True)
os._exit(1)  # dies without returning its leases
"""


@pytest.mark.timeout(180)
def test_leases_of_a_crashed_driver_are_reclaimed(cluster, tmp_path):
    import subprocess
    import sys

    cluster.start_head("--num-cpus", "2")
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_DRIVER)
    out = subprocess.run([sys.executable, str(script), cluster.gcs_address],
                         capture_output=True, text=True, timeout=120)
    assert "HOLDING" in out.stdout, out.stdout + out.stderr
    # Its workers held both CPUs; the raylet notices the driver is gone.
    comet.init(address=cluster.gcs_address)
    double = comet.remote(lambda x: 2 * x)
    assert comet.get([double.remote(i) for i in range(4)], timeout=60) == [0, 2, 4, 6]


@pytest.mark.timeout(120)
def test_placement_group_bundles_on_separate_nodes(cluster):
    from comet.util import placement_group
    from comet.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    cluster.start_head("--num-cpus", "2")
    cluster.add_node("--num-cpus", "2")
    comet.init(address=cluster.gcs_address)
    assert wait_for_condition(lambda: len(alive_nodes()) == 2)
    pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD")
    assert pg.wait(60)
    where = comet.remote(num_cpus=1)(node_of_task)
    nodes = [comet.get(where.options(scheduling_strategy=PlacementGroupSchedulingStrategy(
        pg, placement_group_bundle_index=i)).remote(), timeout=60) for i in range(2)]
    assert len(set(nodes)) == 2 and set(nodes) == alive_nodes()


METRIC_LINE = r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? \S+$'


@pytest.mark.timeout(120)
def test_every_node_serves_prometheus_metrics(cluster):
    import re
    import urllib.request

    from comet._private.auth import bearer_headers

    cluster.start_head("--num-cpus", "1")
    cluster.add_node("--num-cpus", "1", "--resources", '{"other": 1}')
    comet.init(address=cluster.gcs_address)
    assert wait_for_condition(lambda: len(alive_nodes()) == 2)
    big = comet.put(np.ones(4 * MiB // 8))  # something in the head's store
    far = comet.remote(resources={"other": 1})(lambda a: int(a.sum()))
    assert comet.get(far.remote(big), timeout=60) == 4 * MiB // 8  # a pull to the other node
    for node in comet.nodes():
        assert node["MetricsExportPort"] > 0
        url = f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics"
        text = urllib.request.urlopen(urllib.request.Request(url, headers=bearer_headers()),
                                      timeout=10).read().decode()
        samples = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
        bad = [ln for ln in samples if not re.match(METRIC_LINE, ln)]
        assert not bad, bad[:3]
        label = f'node_id="{node["NodeID"]}"'
        for family in ("comet_node_resource_capacity", "comet_workers",
                       "comet_object_store_used_bytes", "comet_lease_grant_seconds_count",
                       "comet_object_pull_seconds_count",
                       "comet_object_store_spilled_bytes_total"):
            assert any(ln.startswith(family) and label in ln for ln in samples), family
    # The pull to the other node shows in its counters.
    other = [n for n in comet.nodes() if n["Resources"].get("other")][0]
    text = urllib.request.urlopen(urllib.request.Request(
        f"http://{other['NodeManagerAddress']}:{other['MetricsExportPort']}/metrics",
        headers=bearer_headers()), timeout=10).read().decode()
    pulled = [ln for ln in text.splitlines() if ln.startswith("comet_object_manager_pulled_bytes_total")]
    assert pulled and float(pulled[0].split()[-1]) >= 4 * MiB
