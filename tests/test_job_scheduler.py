"""The job server's scheduler with real jobs on a real cluster and an
injected clock: runs fire once per scheduled time, a second job server
finds every time taken, forbid skips while a run is going, replace stops it,
and a scheduler that comes back after an outage applies the misfire policy."""

from __future__ import annotations

import asyncio
import sys
import time

from comet._private import worker_context
from comet.dashboard.gcs import Gcs
from comet.dashboard.job_manager import JobManager
from comet.dashboard.job_scheduler import JobScheduler, submission_id_for
from comet.job_submission.common import JobStatus

QUICK = f"{sys.executable} -c \"print('scheduled run')\""
SLOW = f"{sys.executable} -c \"import time; time.sleep(60)\""


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _record(name: str, cron: str, entrypoint: str, created_at: float, **spec) -> dict:
    return {"name": name, "cron": cron, "entrypoint": entrypoint, "created_at": created_at,
            "runtime_env": {}, "metadata": {"team": "data"}, "paused": False, **spec}


async def _until(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


def _run(test, tmp_path) -> None:
    async def main() -> None:
        address = worker_context.get().gcs_address
        gcs = Gcs(address)
        jobs = [JobManager(gcs, str(tmp_path / f"server{i}")) for i in range(2)]
        for i in range(2):
            (tmp_path / f"server{i}" / "logs").mkdir(parents=True)
        try:
            await test(gcs, jobs, address)
        finally:
            for j in jobs:
                await j.shutdown()
            gcs.close()

    asyncio.run(main())


def _start() -> float:
    return float(int(time.time()) // 60 * 60)  # a whole minute


def test_runs_fire_once_per_time_and_a_second_server_finds_them_taken(shared_cluster, tmp_path):
    async def test(gcs, jobs, address):
        t0 = _start()
        clock = Clock(t0)
        first = JobScheduler(gcs, jobs[0], address, clock)
        second = JobScheduler(gcs, jobs[1], address, clock)
        assert first.store.create(_record("every10", "*/10 * * * * *", QUICK, t0))
        for k in (1, 2, 3):
            clock.now = t0 + 10 * k + 0.5
            await first.tick()
            await second.tick()
            await first.tick()  # again at the same time: nothing new
        runs = first.store.runs("every10")
        assert [r["scheduled_time"] for r in runs] == [t0 + 30, t0 + 20, t0 + 10]
        assert all(r["status"] == "SUBMITTED" for r in runs), runs
        # Every run went through the first server; the second found them taken.
        assert len(jobs[0].submitted()) == 3 and jobs[1].submitted() == []
        sid = submission_id_for("every10", t0 + 10)
        finished = await _until(lambda: jobs[0].get(sid).status.is_terminal())
        info = jobs[0].get(sid)
        assert finished and info.status == JobStatus.SUCCEEDED, (info, open(info.driver_log_path).read())
        assert info.metadata["comet_schedule"] == "every10" and info.metadata["team"] == "data"
        first.store.delete("every10")

    _run(test, tmp_path)


def test_forbid_skips_while_a_run_is_going_and_replace_stops_it(shared_cluster, tmp_path):
    async def test(gcs, jobs, address):
        t0 = _start()
        clock = Clock(t0)
        scheduler = JobScheduler(gcs, jobs[0], address, clock)
        scheduler.store.create(_record("forbid", "* * * * *", SLOW, t0,
                                       concurrency_policy="forbid"))
        scheduler.store.create(_record("replace", "* * * * *", SLOW, t0,
                                       concurrency_policy="replace"))
        clock.now = t0 + 60.5
        await scheduler.tick()
        first = {n: submission_id_for(n, t0 + 60) for n in ("forbid", "replace")}
        for sid in first.values():
            assert await _until(lambda sid=sid: jobs[0].get(sid).status == JobStatus.RUNNING)
        clock.now = t0 + 120.5
        await scheduler.tick()
        forbid = scheduler.store.runs("forbid", limit=1)[0]
        assert forbid["status"] == "SKIPPED" and first["forbid"] in forbid["reason"]
        assert jobs[0].get(first["forbid"]).status == JobStatus.RUNNING  # left alone
        replace = scheduler.store.runs("replace", limit=1)[0]
        assert replace["status"] == "SUBMITTED" and replace["replaced"] == [first["replace"]]
        assert jobs[0].get(first["replace"]).status == JobStatus.STOPPED
        assert jobs[0].get(replace["submission_id"]).status in (JobStatus.PENDING,
                                                                JobStatus.RUNNING)
        for name in ("forbid", "replace"):
            scheduler.store.delete(name)

    _run(test, tmp_path)


def test_a_scheduler_back_after_an_outage_applies_the_misfire_policy(shared_cluster, tmp_path):
    async def test(gcs, jobs, address):
        t0 = _start()
        clock = Clock(t0 + 60.5)
        before = JobScheduler(gcs, jobs[0], address, clock)
        before.store.create(_record("once", "* * * * *", QUICK, t0, misfire_threshold_s=10))
        before.store.create(_record("skip", "* * * * *", QUICK, t0, misfire_threshold_s=10,
                                    misfire_policy="skip"))
        before.store.create(_record("catch", "* * * * *", QUICK, t0, misfire_threshold_s=10,
                                    misfire_policy="catch_up", max_catch_up=2))
        await before.tick()  # minute 1 fires for each
        # The job server is away for four minutes; a new one takes over.
        clock.now = t0 + 5 * 60 + 30
        after = JobScheduler(gcs, jobs[1], address, clock)
        await after.tick()

        def statuses(name):
            return [(int(r["scheduled_time"] - t0) // 60, r["status"])
                    for r in reversed(after.store.runs(name))]

        assert statuses("once") == [(1, "SUBMITTED"), (2, "MISSED"), (3, "MISSED"),
                                    (4, "MISSED"), (5, "SUBMITTED")]
        assert statuses("skip") == [(1, "SUBMITTED")] + [(m, "MISSED") for m in (2, 3, 4, 5)]
        assert statuses("catch") == [(1, "SUBMITTED"), (2, "SUBMITTED"), (3, "SUBMITTED"),
                                     (4, "MISSED"), (5, "MISSED")]
        assert "max_catch_up=2" in after.store.runs("catch", limit=1)[0]["reason"]
        for name in ("once", "skip", "catch"):
            after.store.delete(name)

    _run(test, tmp_path)


def test_a_run_that_has_not_started_by_its_deadline_is_stopped_and_missed(shared_cluster,
                                                                          tmp_path):
    from test_runtime_env import make_wheel

    wheel = make_wheel(tmp_path, "cometschedpip", "1.0", "WORD = 'x'\n")

    async def test(gcs, jobs, address):
        t0 = _start()
        clock = Clock(t0 + 60.5)
        scheduler = JobScheduler(gcs, jobs[0], address, clock)
        record = _record("deadline", "* * * * *", QUICK, t0, start_deadline_s=1.0)
        record["runtime_env"] = {"pip": [str(wheel)]}  # PENDING while its env is made
        scheduler.store.create(record)
        await scheduler.tick()
        sid = submission_id_for("deadline", t0 + 60)
        assert jobs[0].get(sid).status == JobStatus.PENDING
        clock.now = t0 + 62
        await scheduler.tick()
        run = scheduler.store.runs("deadline", limit=1)[0]
        assert run["status"] == "MISSED" and "start_deadline_s" in run["reason"], run
        assert jobs[0].get(sid).status == JobStatus.STOPPED
        scheduler.store.delete("deadline")

    _run(test, tmp_path)
