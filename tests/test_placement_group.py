"""Placement groups end to end, against a real local 4-CPU cluster.

Resource views come from raylet reports, so checks on cluster_resources() and
available_resources() wait for a condition with a deadline; nothing here
relies on exact timings.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import comet
from comet.util.placement_group import (
    PlacementGroup,
    get_current_placement_group,
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)
from comet.util.scheduling_strategies import (
    NodeAffinitySchedulingStrategy,
    PlacementGroupSchedulingStrategy,
    apply_scheduling_strategy,
    strategy_from_options,
)
from conftest import _assert_no_leftovers, wait_for_condition

TIMEOUT = 60

# Submitting into a group warns that no node has its bundle resources when
# the driver's cached cluster totals predate the group (warn_if_infeasible).
pytestmark = pytest.mark.filterwarnings("ignore:The demand .* cannot be satisfied")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    comet.init(num_cpus=4, _temp_dir=str(tmp_path_factory.mktemp("comet")))
    yield comet
    comet.shutdown()
    _assert_no_leftovers()


@pytest.fixture
def groups(cluster):
    """Creates groups for a test and removes whatever it left behind."""
    made: list[PlacementGroup] = []

    def make(*args, **kwargs) -> PlacementGroup:
        group = placement_group(*args, **kwargs)
        made.append(group)
        return group

    yield make
    for group in made:
        if placement_group_table(group).get("state") != "REMOVED":
            remove_placement_group(group)
    assert wait_for_condition(lambda: comet.available_resources().get("CPU") == 4,
                              timeout=TIMEOUT)


@comet.remote(num_cpus=0)
def where() -> str:
    return comet.get_runtime_context().get_node_id()


def run_in(group: PlacementGroup, index: int = -1, **resources: float) -> str:
    """Runs `where` in the group's bundle `index`, asking for `resources`."""
    demand, extra = apply_scheduling_strategy(
        resources, PlacementGroupSchedulingStrategy(group, index))
    assert extra["placement_group_id"] == group.id.binary()
    assert extra["placement_group_bundle_index"] == index
    return comet.get(where.options(resources=demand).remote(), timeout=TIMEOUT)


def group_resources() -> set[str]:
    return {name for name in comet.cluster_resources() if "_group_" in name}


def test_pack_group_gets_ready_and_runs_tasks_in_its_bundles(groups):
    pg = groups([{"CPU": 1}, {"CPU": 1}], strategy="PACK")
    assert comet.get(pg.ready(), timeout=TIMEOUT) == pg
    assert pg.wait(TIMEOUT)
    assert pg.bundle_count == 2
    assert pg.bundle_specs == [{"CPU": 1.0}, {"CPU": 1.0}]

    table = placement_group_table(pg)
    assert table["placement_group_id"] == pg.id.hex()
    assert table["state"] == "CREATED"
    assert table["strategy"] == "PACK"
    assert table["bundles"] == {0: {"CPU": 1.0}, 1: {"CPU": 1.0}}
    node_id = comet.get_runtime_context().get_node_id()
    assert table["bundles_to_node_id"] == {0: node_id, 1: node_id}

    hex_id = pg.id.hex()
    expected = {f"CPU_group_{hex_id}", f"CPU_group_0_{hex_id}", f"CPU_group_1_{hex_id}",
                f"bundle_group_{hex_id}", f"bundle_group_0_{hex_id}",
                f"bundle_group_1_{hex_id}"}
    assert wait_for_condition(lambda: expected <= group_resources(), timeout=TIMEOUT)
    totals = comet.cluster_resources()
    assert totals[f"CPU_group_{hex_id}"] == 2
    assert totals[f"CPU_group_1_{hex_id}"] == 1
    assert totals["CPU"] == 4
    assert wait_for_condition(lambda: comet.available_resources().get("CPU") == 2,
                              timeout=TIMEOUT)

    assert run_in(pg, 0, CPU=1) == node_id
    assert run_in(pg, 1, CPU=1) == node_id
    assert run_in(pg, -1, CPU=0.5) == node_id
    assert run_in(pg, 1) == node_id  # No demand: the bundle marker.


def test_group_that_does_not_fit_waits_until_another_is_removed(groups):
    big = groups([{"CPU": 3}])
    assert big.wait(TIMEOUT)
    waiting = groups([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_PACK")
    ready = waiting.ready()
    assert comet.wait([ready], timeout=1)[0] == []
    assert not waiting.wait(0.5)
    assert placement_group_table(waiting)["state"] == "PENDING"

    remove_placement_group(big)
    assert comet.get(ready, timeout=TIMEOUT) == waiting
    assert placement_group_table(waiting)["state"] == "CREATED"
    assert placement_group_table(big)["state"] == "REMOVED"


def test_strict_spread_needs_more_nodes_than_this_one(groups):
    pg = groups([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD")
    assert not pg.wait(1)
    assert placement_group_table(pg)["state"] == "PENDING"
    single = groups([{"CPU": 1}], strategy="STRICT_SPREAD")
    assert single.wait(TIMEOUT)


def test_removal_gives_the_resources_back(groups):
    pg = groups([{"CPU": 2}, {"CPU": 1, "custom_absent": 0}])
    assert pg.wait(TIMEOUT)
    assert wait_for_condition(lambda: comet.available_resources().get("CPU") == 1,
                              timeout=TIMEOUT)
    remove_placement_group(pg)
    assert wait_for_condition(lambda: comet.available_resources().get("CPU") == 4,
                              timeout=TIMEOUT)
    assert wait_for_condition(lambda: not group_resources(), timeout=TIMEOUT)
    assert placement_group_table(pg)["state"] == "REMOVED"
    assert not pg.wait(1)
    with pytest.raises(ValueError, match="removed"):
        apply_scheduling_strategy({"CPU": 1}, PlacementGroupSchedulingStrategy(pg))
    remove_placement_group(pg)  # Again: nothing happens.


def test_named_groups_are_found_and_unique(groups):
    pg = groups([{"CPU": 1}], name="trainers")
    found = get_placement_group("trainers")
    assert found == pg
    assert found.bundle_specs == [{"CPU": 1.0}]
    assert placement_group_table(pg)["name"] == "trainers"
    with pytest.raises(ValueError, match="already exists"):
        placement_group([{"CPU": 1}], name="trainers")
    with pytest.raises(ValueError, match="nobody"):
        get_placement_group("nobody")
    remove_placement_group(pg)
    with pytest.raises(ValueError):
        get_placement_group("trainers")
    again = groups([{"CPU": 1}], name="trainers")  # The name is free again.
    assert get_placement_group("trainers") == again


def test_table_of_every_group(groups):
    a = groups([{"CPU": 1}])
    b = groups([{"CPU": 1}], strategy="SPREAD")
    assert a.wait(TIMEOUT) and b.wait(TIMEOUT)
    table = placement_group_table()
    assert table[a.id.hex()]["strategy"] == "PACK"
    assert table[b.id.hex()]["strategy"] == "SPREAD"
    assert table[b.id.hex()]["state"] == "CREATED"


@pytest.mark.parametrize("bundles", [[], [{}], [{"CPU": -1}], [{"CPU": 0}], "CPU",
                                     [{"CPU": "one"}], [{"CPU": True}]])
def test_bad_bundles_are_rejected(cluster, bundles):
    with pytest.raises(ValueError):
        placement_group(bundles)


def test_bad_arguments_are_rejected(groups):
    with pytest.raises(ValueError, match="strategy"):
        placement_group([{"CPU": 1}], strategy="TIGHT")
    with pytest.raises(ValueError, match="lifetime"):
        placement_group([{"CPU": 1}], lifetime="forever")
    with pytest.raises(ValueError, match="STRICT_PACK"):
        placement_group([{"CPU": 1}], _soft_target_node_id="ab" * 28)
    pg = groups([{"CPU": 1}, {"CPU": 1}])
    with pytest.raises(ValueError, match="bundle_index"):
        PlacementGroupSchedulingStrategy(pg, -2)
    with pytest.raises(ValueError, match="0 to 1"):
        apply_scheduling_strategy({"CPU": 1}, PlacementGroupSchedulingStrategy(pg, 2))
    with pytest.raises(TypeError):
        PlacementGroupSchedulingStrategy("not a group")
    with pytest.raises(ValueError):
        apply_scheduling_strategy({"CPU": 1}, "NEAREST")
    with pytest.raises(ValueError):
        pg.wait(-1)


def test_soft_target_node_is_used_for_strict_pack(groups):
    node_id = comet.get_runtime_context().get_node_id()
    pg = groups([{"CPU": 1}], strategy="STRICT_PACK", _soft_target_node_id=node_id)
    assert pg.wait(TIMEOUT)
    assert placement_group_table(pg)["bundles_to_node_id"][0] == node_id


def test_renaming_is_a_pure_function_of_the_strategy(groups):
    pg = groups([{"CPU": 2}, {"GPU": 1}])
    hex_id = pg.id.hex()
    demand = {"CPU": 1, "memory": 0}
    renamed, extra = apply_scheduling_strategy(demand, PlacementGroupSchedulingStrategy(pg, 0))
    assert renamed == {f"CPU_group_{hex_id}": 1, f"CPU_group_0_{hex_id}": 1}
    assert demand == {"CPU": 1, "memory": 0}
    assert extra == {"placement_group_id": pg.id.binary(), "placement_group_bundle_index": 0,
                     "placement_group_capture_child_tasks": False}
    renamed, _ = apply_scheduling_strategy({}, PlacementGroupSchedulingStrategy(pg))
    assert renamed == {f"bundle_group_{hex_id}": 0.001}
    assert apply_scheduling_strategy({"CPU": 1}, None) == ({"CPU": 1}, {})
    assert apply_scheduling_strategy({"CPU": 1}, "SPREAD") == ({"CPU": 1}, {})
    assert apply_scheduling_strategy({"CPU": 1}, PlacementGroupSchedulingStrategy(None)) == (
        {"CPU": 1}, {})


def test_strategy_from_options(groups):
    pg = groups([{"CPU": 1}])
    strategy = PlacementGroupSchedulingStrategy(pg, 0)
    assert strategy_from_options({"scheduling_strategy": strategy}) is strategy
    legacy = strategy_from_options({"placement_group": pg, "placement_group_bundle_index": 0})
    assert legacy.placement_group == pg and legacy.placement_group_bundle_index == 0
    assert strategy_from_options({}) is None  # The driver runs in no group.
    assert strategy_from_options({"placement_group": None}) is None
    assert get_current_placement_group() is None


def test_node_affinity(cluster):
    node_id = comet.get_runtime_context().get_node_id()
    hard = NodeAffinitySchedulingStrategy(node_id, soft=False)
    demand, extra = apply_scheduling_strategy({"CPU": 1}, hard)
    assert demand == {"CPU": 1, f"node_id:{node_id}": 0.001}
    assert extra == {}
    assert comet.cluster_resources()[f"node_id:{node_id}"] == 1
    pinned, _ = apply_scheduling_strategy({}, hard)
    assert comet.get(where.options(resources=pinned).remote(), timeout=TIMEOUT) == node_id
    gone = "ab" * 28
    demand, _ = apply_scheduling_strategy({}, NodeAffinitySchedulingStrategy(gone, soft=True))
    assert demand == {}
    demand, _ = apply_scheduling_strategy({}, NodeAffinitySchedulingStrategy(gone, soft=False))
    assert demand == {f"node_id:{gone}": 0.001}
    with pytest.raises(ValueError):
        NodeAffinitySchedulingStrategy("not-hex", soft=False)


def test_groups_of_a_finished_job_are_removed_unless_detached(cluster, tmp_path):
    script = textwrap.dedent("""
        import sys
        import comet
        from comet.util.placement_group import placement_group
        comet.init(address=sys.argv[1], namespace=sys.argv[2])  # this job's, to look it up
        owned = placement_group([{"CPU": 1}])
        kept = placement_group([{"CPU": 1}], lifetime="detached", name="kept_after_job")
        assert owned.wait(60) and kept.wait(60)
        print(owned.id.hex(), kept.id.hex())
        comet.shutdown()
    """)
    path = tmp_path / "driver.py"
    path.write_text(script)
    gcs_address = comet.init(ignore_reinit_error=True)["gcs_address"]
    namespace = comet.get_runtime_context().namespace
    out = subprocess.run([sys.executable, str(path), gcs_address, namespace],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    owned, kept = out.stdout.split()
    table = placement_group_table()
    assert wait_for_condition(lambda: placement_group_table()[owned]["state"] == "REMOVED",
                              timeout=TIMEOUT)
    assert table[kept]["state"] == "CREATED"
    kept_group = get_placement_group("kept_after_job")
    assert kept_group.id.hex() == kept
    remove_placement_group(kept_group)
    assert wait_for_condition(lambda: comet.available_resources().get("CPU") == 4,
                              timeout=TIMEOUT)


def test_queued_tasks_fail_when_their_group_is_removed(groups):
    import time

    from comet.exceptions import TaskPlacementGroupRemoved
    from comet.util import state

    group = groups([{"CPU": 1}])
    assert group.wait(TIMEOUT)
    in_group = PlacementGroupSchedulingStrategy(group)

    @comet.remote(num_cpus=1)
    def hold(seconds):
        time.sleep(seconds)
        return "done"

    running = hold.options(scheduling_strategy=in_group).remote(30)
    assert wait_for_condition(
        lambda: any(t["state"] == "RUNNING" and t["name"].endswith("hold")
                    for t in state.list_tasks()), timeout=TIMEOUT)
    queued = [hold.options(scheduling_strategy=in_group).remote(0) for _ in range(2)]
    remove_placement_group(group)
    # The queued tasks fail; the running one is killed, and its retry fails too.
    for ref in [*queued, running]:
        with pytest.raises(TaskPlacementGroupRemoved, match="was removed"):
            comet.get(ref, timeout=TIMEOUT)


def test_actors_in_a_removed_group_die(groups):
    from comet.exceptions import ActorDiedError

    group = groups([{"CPU": 1}])
    assert group.wait(TIMEOUT)
    in_group = PlacementGroupSchedulingStrategy(group)

    @comet.remote(num_cpus=1)
    class Holder:
        def ping(self):
            return "pong"

    first = Holder.options(scheduling_strategy=in_group).remote()
    assert comet.get(first.ping.remote(), timeout=TIMEOUT) == "pong"
    waiting = Holder.options(scheduling_strategy=in_group).remote()  # No room left in the bundle.
    remove_placement_group(group)
    with pytest.raises(ActorDiedError, match="placement group .* was removed"):
        comet.get(waiting.ping.remote(), timeout=TIMEOUT)


    def first_died() -> bool:  # The one running in it is killed (soon after).
        try:
            comet.get(first.ping.remote(), timeout=TIMEOUT)
            return False
        except ActorDiedError:
            return True

    assert wait_for_condition(first_died, timeout=TIMEOUT)

