"""The schedules REST API: create, list, get, pause, resume, delete, runs.

    POST   /api/schedules/                 create (body: see parse_schedule_request)
    GET    /api/schedules/                 {"schedules": [schedule, ...]}
    GET    /api/schedules/{name}           schedule, with next_run_time
    POST   /api/schedules/{name}/pause     schedule
    POST   /api/schedules/{name}/resume    schedule
    DELETE /api/schedules/{name}           {"deleted": bool}
    GET    /api/schedules/{name}/runs      {"runs": [run, ...]} newest first (?limit=N)

A run: scheduled_time (epoch s) and scheduled_time_iso, status (SUBMITTED,
SKIPPED, MISSED, FAILED; a submitted run also has its job's job_status),
submission_id, reason."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from comet.dashboard.gcs import Gcs
from comet.dashboard.http_util import ApiError, json_response, read_json
from comet.dashboard.job_scheduler import JobScheduler
from comet.dashboard.schedule_policy import ScheduleSpec, next_time, utc_iso
from comet.job_submission.common import parse_submit_request

_SPEC_FIELDS = {"name", "cron", "timezone", "misfire_policy", "misfire_threshold_s",
                "max_catch_up", "concurrency_policy", "start_deadline_s", "jitter_s"}
_JOB_FIELDS = {"entrypoint", "runtime_env", "metadata"}
# Ray's per-job resource options: the job server does not reserve resources for
# entrypoints (submit_job refuses them too).
_UNSUPPORTED = {"entrypoint_num_cpus", "entrypoint_num_gpus", "entrypoint_memory",
                "entrypoint_resources"}


def parse_schedule_request(body: Any, now: float) -> dict[str, Any]:
    """The stored record for a create request; ValueError naming what is wrong."""
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    given_unsupported = sorted(k for k in _UNSUPPORTED if body.get(k) is not None)
    if given_unsupported:
        raise ValueError(f"{', '.join(given_unsupported)}: not supported by Comet's job "
                         "server (entrypoints do not reserve resources)")
    unknown = set(body) - _SPEC_FIELDS - _JOB_FIELDS - _UNSUPPORTED - {"paused"}
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    for required in ("name", "cron", "entrypoint"):
        if required not in body:
            raise ValueError(f"'{required}' is required")
    spec = ScheduleSpec.from_dict({k: body[k] for k in _SPEC_FIELDS if k in body})
    spec.validate()
    # The job part is checked as a job submission would be.
    job = parse_submit_request({k: body[k] for k in _JOB_FIELDS if k in body})
    paused = body.get("paused", False)
    if not isinstance(paused, bool):
        raise ValueError(f"paused must be true or false, got {paused!r}")
    return {**spec.to_dict(), "entrypoint": job.entrypoint, "runtime_env": job.runtime_env,
            "metadata": job.metadata, "paused": paused, "created_at": now}


class ScheduleRoutes:
    def __init__(self, scheduler: JobScheduler, gcs: Gcs) -> None:
        self._scheduler = scheduler
        self._store = scheduler.store
        self._gcs = gcs

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        for path in ("/api/schedules/", "/api/schedules"):
            r.add_post(path, self.create)
            r.add_get(path, self.list)
        r.add_get("/api/schedules/{name}", self.get)
        r.add_delete("/api/schedules/{name}", self.delete)
        r.add_post("/api/schedules/{name}/pause", self.pause)
        r.add_post("/api/schedules/{name}/resume", self.resume)
        r.add_get("/api/schedules/{name}/runs", self.runs)

    async def create(self, request: web.Request) -> web.Response:
        try:
            record = parse_schedule_request(await read_json(request), self._scheduler.now())
        except ValueError as e:
            raise ApiError(400, str(e)) from None
        if not await self._gcs.call(self._store.create, record):
            raise ApiError(400, f"a schedule named {record['name']!r} already exists")
        return json_response(self._view(record))

    async def list(self, request: web.Request) -> web.Response:
        records = await self._gcs.call(self._store.list)
        return json_response({"schedules": [self._view(r) for r in records]})

    async def get(self, request: web.Request) -> web.Response:
        return json_response(self._view(await self._record(request)))

    async def pause(self, request: web.Request) -> web.Response:
        return json_response(await self._set_paused(request, True))

    async def resume(self, request: web.Request) -> web.Response:
        return json_response(await self._set_paused(request, False))

    async def delete(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return json_response({"deleted": await self._gcs.call(self._store.delete, name)})

    async def runs(self, request: web.Request) -> web.Response:
        record = await self._record(request)
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            raise ApiError(400, "limit must be an integer") from None
        runs = await self._gcs.call(self._store.runs, record["name"], max(0, limit))
        for run in runs:
            run["scheduled_time_iso"] = utc_iso(run["scheduled_time"])
            status = self._scheduler.job_status(run.get("submission_id") or "")
            run["job_status"] = status.value if status is not None else None
        return json_response({"runs": runs})

    async def _record(self, request: web.Request) -> dict[str, Any]:
        name = request.match_info["name"]
        record = await self._gcs.call(self._store.get, name)
        if record is None:
            raise ApiError(404, f"no schedule named {name!r}")
        return record

    async def _set_paused(self, request: web.Request, paused: bool) -> dict[str, Any]:
        record = await self._record(request)
        if record.get("paused") != paused:
            if not paused:
                # The times that passed while paused do not run: the schedule
                # goes on from now (a job server that was down is another
                # matter: its missed times go by the misfire policy).
                await self._gcs.call(self._store.advance, record["name"], self._scheduler.now())
            record["paused"] = paused
            await self._gcs.call(self._store.update, record)
        return self._view(record)

    def _view(self, record: dict[str, Any]) -> dict[str, Any]:
        view = dict(record)
        if record.get("paused"):
            view["next_run_time"] = None
        else:
            spec = ScheduleSpec.from_dict(record)
            nxt = next_time(spec, self._scheduler.now())
            view["next_run_time"] = nxt
            view["next_run_time_iso"] = utc_iso(nxt)
        return view
