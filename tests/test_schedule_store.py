"""Schedules and their runs in a real GCS's KV: exactly one claimant per
scheduled time (two job servers racing), the cursor only moves forward,
runs are listed newest first and pruned, delete removes everything."""

from __future__ import annotations

import threading

from comet import _raylet
from comet._private import worker_context
from comet.dashboard.schedule_store import ScheduleStore

T = 1_767_614_400.0


def _store() -> ScheduleStore:
    return ScheduleStore(_raylet.StateClient(worker_context.get().gcs_address))


def test_each_scheduled_time_has_exactly_one_claimant(shared_cluster):
    servers = [_store() for _ in range(4)]
    winners: list[int] = []
    lock = threading.Lock()

    def race(i: int) -> None:
        for k in range(25):
            if servers[i].claim("race", T + k, {"status": "claimed", "by": i}):
                with lock:
                    winners.append(k)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(winners) == list(range(25))  # every time once, none twice
    runs = servers[0].runs("race")
    assert [r["scheduled_time"] for r in runs] == [T + k for k in reversed(range(25))]
    assert servers[0].runs("race", limit=2)[0]["scheduled_time"] == T + 24
    servers[0].update_run("race", T + 24, {"status": "SUCCEEDED", "submission_id": "x"})
    assert servers[1].runs("race", limit=1)[0]["status"] == "SUCCEEDED"
    assert servers[0].prune("race", keep=10) == 15
    assert len(servers[0].runs("race")) == 10


def test_schedules_cursor_and_delete(shared_cluster):
    store = _store()
    record = {"name": "nightly", "cron": "0 3 * * *", "entrypoint": "python x.py"}
    assert store.create(record)
    assert not store.create({**record, "cron": "0 4 * * *"})  # the name is taken
    assert store.get("nightly")["cron"] == "0 3 * * *"
    store.update({**record, "paused": True})
    assert store.get("nightly")["paused"] is True
    assert "nightly" in [s["name"] for s in store.list()]
    assert store.cursor("nightly") is None
    store.advance("nightly", T + 60)
    store.advance("nightly", T)  # never back
    assert store.cursor("nightly") == T + 60
    assert store.claim("nightly", T + 60, {"status": "claimed"})
    # A name that is a prefix of another keeps its own runs.
    assert store.claim("nightly2", T + 60, {"status": "claimed"})
    assert store.delete("nightly")
    assert store.get("nightly") is None and store.cursor("nightly") is None
    assert store.runs("nightly") == []
    assert len(store.runs("nightly2")) == 1
    assert not store.delete("nightly")
