"""`comet status` laid out as `ray status`: the report built from rows, and
the CLI against a real head with a placement group, busy CPUs and work that
cannot be placed."""

from __future__ import annotations

import datetime
import time

import pytest

import comet
from cli_cluster import cli
from comet.scripts.status import render
from comet.util import placement_group
from comet.util.scheduling_strategies import PlacementGroupSchedulingStrategy
from comet.util.state import rows
from conftest import wait_for_condition

PG = "ab" * 18  # a placement group id as hex


def _node(node_id: str, alive: bool = True, reason: str = "") -> dict:
    return {"NodeID": node_id, "Alive": alive, "NodeManagerAddress": "10.0.0.1",
            "NodeManagerPort": 7000, "StartTimeMs": 1, "DeathReason": reason}


def test_report_folds_placement_groups_and_counts_demands():
    usage = [{
        "node_id": "n1", "raylet_address": "10.0.0.1:7000",
        # 2 of 4 CPUs reserved by a 2-bundle group, 1 of those in use; 1 more CPU
        # used outside it.
        "total": {"quantities": {"CPU": 4.0, f"CPU_group_{PG}": 2.0, f"CPU_group_0_{PG}": 1.0,
                                 f"CPU_group_1_{PG}": 1.0, f"bundle_group_{PG}": 2000.0,
                                 "memory": 2.0 * 2**30, "node:10.0.0.1": 1.0, "special": 1.0}},
        "available": {"quantities": {"CPU": 1.0, f"CPU_group_{PG}": 1.0, f"CPU_group_0_{PG}": 0.0,
                                     f"CPU_group_1_{PG}": 1.0, f"bundle_group_{PG}": 2000.0,
                                     "memory": 2.0 * 2**30, "node:10.0.0.1": 1.0,
                                     "special": 1.0}},
        "pending_demands": [{"quantities": {"CPU": 1.0}}] * 3 + [{"quantities": {"GPU": 1.0}}],
    }]
    status = rows.cluster_status(usage, [])
    assert status["placement_groups"] == {"CPU": {"reserved": 2.0, "used": 1.0}}
    pending_groups = [
        {"bundles": [{"resources": {"CPU": 8}}] * 2, "strategy": "PLACEMENT_PACK"},
        {"bundles": [{"resources": {"CPU": 8}}] * 2, "strategy": "PLACEMENT_PACK"},
        {"bundles": [{"resources": {"CPU": 1}}, {"resources": {"GPU": 1}}],
         "strategy": "PLACEMENT_SPREAD"},
    ]
    text = render("10.0.0.1:6379", [_node("n1"), _node("n2", False, "heartbeats stopped")],
                  status, pending_groups, "http://10.0.0.1:8265", verbose=True,
                  now=datetime.datetime(2026, 1, 2, 3, 4, 5))
    assert text.splitlines() == [
        "======== Cluster status: 2026-01-02 03:04:05 ========",
        "Comet cluster at 10.0.0.1:6379: 1 node(s) alive, 1 dead",
        "Dashboard: http://10.0.0.1:8265",
        "",
        "Node status",
        "-" * 63,
        "Active:",
        " node_n1 10.0.0.1:7000",
        "Dead:",
        " node_n2 10.0.0.1: heartbeats stopped",
        "",
        "Resources",
        "-" * 63,
        "Total Usage:",
        " 3.0/4.0 CPU (1.0 used of 2.0 reserved in placement groups)",
        " 0.0/1.0 special",
        " 0B/2.00GiB memory",
        "",
        "Total Demands:",
        " {'CPU': 1.0}: 3+ pending tasks/actors",
        " {'GPU': 1.0}: 1+ pending tasks/actors",
        " {'CPU': 1.0}, {'GPU': 1.0} (SPREAD): 1+ pending placement groups",
        " {'CPU': 8.0} * 2 (PACK): 2+ pending placement groups",
        "",
        "Node: n1 (10.0.0.1:7000)",
        " Usage:",
        "  3.0/4.0 CPU (1.0 used of 2.0 reserved in placement groups)",
        "  0.0/1.0 special",
        "  0B/2.00GiB memory",
        " Demands:",
        "  {'CPU': 1.0}: 3+ pending tasks/actors",
        "  {'GPU': 1.0}: 1+ pending tasks/actors",
    ]


def test_report_of_an_idle_cluster_says_so():
    usage = [{"node_id": "n1", "raylet_address": "a:1", "total": {"CPU": 2.0},
              "available": {"CPU": 2.0}, "pending_demands": []}]
    text = render("a:0", [_node("n1")], rows.cluster_status(usage, []), [])
    assert " 0.0/2.0 CPU" in text.splitlines()
    assert "(no dead nodes)" in text and "(no resource demands)" in text
    assert "reserved in placement groups" not in text and "Dashboard" not in text


@comet.remote
def _hold(seconds: float) -> None:
    time.sleep(seconds)


@pytest.mark.timeout(90)
def test_status_of_a_live_cluster(cluster):
    cluster.start_head("--num-cpus", "4", "--no-include-dashboard")
    comet.init(address=cluster.gcs_address)
    try:
        group = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="PACK")
        assert group.wait(30)
        never = placement_group([{"CPU": 64}] * 2, strategy="PACK")  # noqa: F841 - pending
        in_group = _hold.options(
            scheduling_strategy=PlacementGroupSchedulingStrategy(group)).remote(60)
        outside = [_hold.remote(60) for _ in range(2)]
        queued = _hold.remote(60)  # 4 CPUs: 2 in the group, 2 busy outside, so it waits
        with pytest.warns(UserWarning, match="cannot be satisfied"):
            unplaceable = [_hold.options(resources={"unobtainium": 1}).remote(0)
                           for _ in range(2)]

        def report() -> str | None:
            result = cli("status", "--address", cluster.gcs_address)
            assert result.returncode == 0, result.stderr
            text = result.stdout
            wanted = (" 4.0/4.0 CPU (1.0 used of 2.0 reserved in placement groups)",
                      " {'CPU': 1.0, 'unobtainium': 1.0}: 2+ pending tasks/actors",
                      " {'CPU': 1.0}: 1+ pending tasks/actors",
                      " {'CPU': 64.0} * 2 (PACK): 1+ pending placement groups")
            return text if all(w in text.splitlines() for w in wanted) else None

        assert wait_for_condition(report, timeout=30), cli(
            "status", "--address", cluster.gcs_address).stdout
        text = report()
        assert f" node_{cluster.node_id()} " in text
        assert "_group_" not in text and "node:" not in text
        verbose = cli("status", "-v", "--address", cluster.gcs_address).stdout
        assert f"Node: {cluster.node_id()}" in verbose
        for ref in [in_group, *outside, queued, *unplaceable]:
            comet.cancel(ref, force=True)
    finally:
        comet.shutdown()
