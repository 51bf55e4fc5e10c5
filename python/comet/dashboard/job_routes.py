"""The job REST API (Ray's shape): submit, list, get, logs, tail, stop, delete."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from comet.dashboard.gcs import Gcs
from comet.dashboard.http_util import ApiError, json_response, read_json
from comet.dashboard.job_manager import JobManager, JobNotFound
from comet.job_submission.common import JobInfo, parse_submit_request
from comet.util.state import rows

TAIL_POLL_S = 0.2
TAIL_CHUNK = 64 * 1024


class JobRoutes:
    def __init__(self, manager: JobManager, gcs: Gcs) -> None:
        self._jobs = manager
        self._gcs = gcs

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        for path in ("/api/jobs/", "/api/jobs"):
            r.add_post(path, self.submit)
            r.add_get(path, self.list)
        r.add_get("/api/jobs/{id}", self.get)
        r.add_delete("/api/jobs/{id}", self.delete)
        r.add_get("/api/jobs/{id}/logs", self.logs)
        r.add_get("/api/jobs/{id}/logs/tail", self.tail)
        r.add_post("/api/jobs/{id}/stop", self.stop)

    async def submit(self, request: web.Request) -> web.Response:
        try:
            req = parse_submit_request(await read_json(request))
            info = await self._jobs.submit(req, self._gcs.address)
        except ValueError as e:
            raise ApiError(400, str(e)) from None
        return json_response({"submission_id": info.submission_id, "job_id": info.job_id})

    async def list(self, request: web.Request) -> web.Response:
        return json_response(await self.all_jobs())

    async def all_jobs(self) -> list[dict[str, Any]]:
        """Submitted jobs, then the GCS's drivers that no submission started."""
        submitted = [j.to_json() for j in self._jobs.submitted()]
        linked = {j["job_id"] for j in submitted if j.get("job_id")}
        drivers = [rows.gcs_job_row(j) for j in await self._gcs.table("jobs")
                   if j.get("job_id") not in linked]
        return submitted + drivers

    async def get(self, request: web.Request) -> web.Response:
        job_id = request.match_info["id"]
        try:
            return json_response(self._jobs.get(job_id).to_json())
        except JobNotFound:
            pass
        for row in await self._gcs.table("jobs"):
            if row.get("job_id") == job_id:
                return json_response(rows.gcs_job_row(row))
        raise _not_found(job_id)

    async def logs(self, request: web.Request) -> web.Response:
        info = self._submitted(request)
        return json_response({"logs": _read_text(info.driver_log_path)})

    async def tail(self, request: web.Request) -> web.StreamResponse:
        info = self._submitted(request)
        response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        offset = 0
        while True:
            terminal = info.status.is_terminal()  # read before draining: no lost tail
            chunk = _read_from(info.driver_log_path, offset)
            if chunk:
                offset += len(chunk)
                await response.write(chunk)
                continue
            if terminal:
                break
            await asyncio.sleep(TAIL_POLL_S)
        await response.write_eof()
        return response

    async def stop(self, request: web.Request) -> web.Response:
        try:
            return json_response({"stopped": await self._jobs.stop(request.match_info["id"])})
        except JobNotFound:
            raise _not_found(request.match_info["id"]) from None

    async def delete(self, request: web.Request) -> web.Response:
        try:
            await self._jobs.delete(request.match_info["id"])
        except JobNotFound:
            raise _not_found(request.match_info["id"]) from None
        except ValueError as e:
            raise ApiError(400, str(e)) from None
        return json_response({"deleted": True})

    def _submitted(self, request: web.Request) -> JobInfo:
        try:
            return self._jobs.get(request.match_info["id"])
        except JobNotFound:
            raise _not_found(request.match_info["id"]) from None


def _not_found(job_id: str) -> ApiError:
    return ApiError(404, f"Job {job_id} does not exist")


def _read_text(path: str) -> str:
    return _read_from(path, 0, -1).decode("utf-8", errors="replace")


def _read_from(path: str, offset: int, size: int = TAIL_CHUNK) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(size)
    except FileNotFoundError:
        return b""
