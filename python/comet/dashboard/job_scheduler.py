"""The job server's scheduler: fires the schedules kept in the GCS KV
(schedule_store.py) by the rules of schedule_policy.py, submitting each run
through the JobManager like any job.

On each tick (every TICK_S), for each active schedule: the policy says which
scheduled times since the schedule's cursor fire and which are missed; each
one is claimed in the store before anything happens (so a restarted or a
second job server never handles a time twice); a claimed run that fires
applies the concurrency policy to the schedule's previous runs still going,
then submits the job (submission id "sched_<name>_<epoch seconds>", metadata
naming the schedule and its time); the cursor then moves past what was
handled.

Thread model: confined to the dashboard's event loop; store calls run on the
Gcs thread and are awaited. The clock is injected (tests).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any, Callable, Optional

from comet.dashboard.gcs import Gcs
from comet.dashboard.job_manager import STOP_GRACE_S, JobManager, JobNotFound
from comet.dashboard.schedule_policy import (ScheduleSpec, concurrency_action, step,
                                             utc_iso)
from comet.dashboard.schedule_store import ScheduleStore
from comet.job_submission.common import JobStatus, SubmitRequest

TICK_S = 0.25
PRUNE_EVERY = 400  # ticks

logger = logging.getLogger(__name__)


def submission_id_for(name: str, scheduled_time: float) -> str:
    return f"sched_{name}_{int(scheduled_time)}"


class JobScheduler:
    def __init__(self, gcs: Gcs, jobs: JobManager, gcs_address: str,
                 clock: Callable[[], float] = time.time) -> None:
        self._gcs = gcs
        self._store = ScheduleStore(gcs.client)
        self._jobs = jobs
        self._gcs_address = gcs_address
        self._clock = clock
        self._id = secrets.token_hex(4)  # names this job server in run records
        self._ticks = 0

    @property
    def store(self) -> ScheduleStore:
        return self._store

    def now(self) -> float:
        return self._clock()

    async def run(self) -> None:
        """Ticks until cancelled; a failing tick is logged, not fatal."""
        while True:
            try:
                await self.tick()
            except Exception:  # noqa: BLE001 - the next tick tries again
                logger.exception("job scheduler tick failed")
            await asyncio.sleep(TICK_S)

    async def tick(self) -> None:
        self._ticks += 1
        for record in await self._gcs.call(self._store.list):
            if record.get("paused"):
                continue
            try:
                await self._tick_one(record)
            except Exception:  # noqa: BLE001 - one schedule must not stop the others
                logger.exception("schedule %r", record.get("name"))
            if self._ticks % PRUNE_EVERY == 0:
                await self._gcs.call(self._store.prune, record["name"])

    async def _tick_one(self, record: dict[str, Any]) -> None:
        spec = ScheduleSpec.from_dict(record)
        now = self._clock()
        cursor = await self._gcs.call(self._store.cursor, spec.name)
        # A resumed schedule counts the paused time as missed only from its
        # cursor; a new one starts at its creation.
        after = max(t for t in (cursor, record.get("created_at")) if t is not None)
        decided = step(spec, after, now)
        for decision in decided.decisions:
            run: dict[str, Any] = {
                "status": "CLAIMED" if decision.fire else "MISSED",
                "reason": decision.reason, "job_server": self._id, "recorded_at": now,
                "submission_id": None}
            if not await self._gcs.call(self._store.claim, spec.name,
                                        decision.scheduled_time, run):
                continue  # another job server (or an earlier one) has it
            if decision.fire:
                await self._fire(record, spec, decision.scheduled_time, run)
        if decided.handled_until is not None:
            await self._gcs.call(self._store.advance, spec.name, decided.handled_until)
        if spec.start_deadline_s is not None:
            await self._enforce_start_deadline(spec, now)

    async def _enforce_start_deadline(self, spec: ScheduleSpec, now: float) -> None:
        """A submitted run whose job has not started (its runtime_env is still
        being set up) start_deadline_s after its time is stopped and recorded
        as missed, rather than left to start late."""
        for run in await self._gcs.call(self._store.runs, spec.name, 20):
            sid = run.get("submission_id")
            if run.get("status") != "SUBMITTED" or not sid or \
                    now - run["scheduled_time"] <= spec.start_deadline_s:
                continue
            if self.job_status(sid) != JobStatus.PENDING:
                continue
            await self._stop_and_wait(sid)
            run.update(status="MISSED", reason=(
                f"the job had not started {spec.start_deadline_s:g} s after its time "
                "(start_deadline_s); it was stopped"))
            await self._gcs.call(self._store.update_run, spec.name, run["scheduled_time"], run)

    async def _fire(self, record: dict[str, Any], spec: ScheduleSpec, scheduled: float,
                    run: dict[str, Any]) -> None:
        running = await self._running_runs(spec.name, exclude=scheduled)
        action = concurrency_action(spec.concurrency_policy, bool(running))
        if action == "skip":
            run.update(status="SKIPPED", reason=(
                f"the previous run {running[0]} is still going (concurrency_policy=forbid)"))
            await self._gcs.call(self._store.update_run, spec.name, scheduled, run)
            return
        if action == "replace":
            for submission_id in running:
                await self._stop_and_wait(submission_id)
            run["replaced"] = running
        submission_id = submission_id_for(spec.name, scheduled)
        metadata = {**record.get("metadata", {}), "comet_schedule": spec.name,
                    "comet_scheduled_time": utc_iso(scheduled)}
        request = SubmitRequest(record["entrypoint"], submission_id,
                                dict(record.get("runtime_env") or {}), metadata)
        try:
            await self._jobs.submit(request, self._gcs_address)
        except Exception as e:  # noqa: BLE001 - the run record says why
            run.update(status="FAILED", reason=f"the job could not be submitted: {e}")
        else:
            run.update(status="SUBMITTED", submission_id=submission_id)
        await self._gcs.call(self._store.update_run, spec.name, scheduled, run)

    async def _running_runs(self, name: str, exclude: float) -> list[str]:
        """Submission ids of the schedule's runs whose jobs have not ended."""
        out = []
        for run in await self._gcs.call(self._store.runs, name, 50):
            sid = run.get("submission_id")
            if not sid or run.get("scheduled_time") == exclude:
                continue
            status = self.job_status(sid)
            if status is not None and not status.is_terminal():
                out.append(sid)
        return out

    def job_status(self, submission_id: str) -> Optional[Any]:
        try:
            return self._jobs.get(submission_id).status
        except JobNotFound:
            return None

    async def _stop_and_wait(self, submission_id: str) -> None:
        try:
            await self._jobs.stop(submission_id)
        except JobNotFound:
            return
        deadline = time.monotonic() + STOP_GRACE_S + 5
        while time.monotonic() < deadline:
            status = self.job_status(submission_id)
            if status is None or status.is_terminal():
                return
            await asyncio.sleep(0.05)
        logger.warning("run %s did not stop in time; starting its replacement anyway",
                       submission_id)
