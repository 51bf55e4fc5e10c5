"""The state REST API: nodes, actors, placement groups, workers, tasks, objects
and the cluster's resource status, read from the GCS (each raylet for workers,
every worker and driver for objects)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from comet import __version__
from comet.dashboard.gcs import Gcs
from comet.dashboard.http_util import json_response, query_int
from comet.util.state import memory, rows

Row = dict[str, Any]
MEMORY_TIMEOUT_S = 2.0
NODE_STATS_TIMEOUT_S = 10.0


class StateRoutes:
    def __init__(self, gcs: Gcs, session_dir: str) -> None:
        self._gcs = gcs
        self._session_dir = session_dir

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/api/version", self.version)
        r.add_get("/api/nodes", self.nodes)
        r.add_get("/api/actors", self.actors)
        r.add_get("/api/placement_groups", self.placement_groups)
        r.add_get("/api/workers", self.workers)
        r.add_get("/api/hardware", self.hardware)
        r.add_get("/api/tasks", self.tasks)
        r.add_get("/api/objects", self.objects)
        r.add_get("/api/memory", self.memory)
        r.add_get("/api/cluster_status", self.cluster_status)

    async def version(self, request: web.Request) -> web.Response:
        return json_response({"version": __version__, "gcs_address": self._gcs.address,
                              "session_dir": self._session_dir})

    async def node_rows(self) -> list[Row]:
        return [rows.node_row(n, self._session_dir) for n in await self._gcs.table("nodes")]

    async def nodes(self, request: web.Request) -> web.Response:
        return json_response({"nodes": _select(request, await self.node_rows())})

    async def actors(self, request: web.Request) -> web.Response:
        actors = [rows.actor_row(a) for a in await self._gcs.table("actors")]
        return json_response({"actors": _select(request, actors)})

    async def placement_groups(self, request: web.Request) -> web.Response:
        pgs = [rows.placement_group_row(p) for p in await self._gcs.table("placement_groups")]
        return json_response({"placement_groups": _select(request, pgs)})

    async def workers(self, request: web.Request) -> web.Response:
        answered, errors = await self._gcs.live_node_stats(NODE_STATS_TIMEOUT_S)
        workers = [w for node, stats in answered
                   for w in rows.worker_rows(node["node_id"], node["raylet_address"], stats)]
        return json_response({"workers": _select(request, workers), "errors": errors})

    async def hardware(self, request: web.Request) -> web.Response:
        nodes, errors = await self._gcs.hardware(NODE_STATS_TIMEOUT_S)
        return json_response({"nodes": _select(request, nodes), "errors": errors})

    async def tasks(self, request: web.Request) -> web.Response:
        job_id = request.query.get("job_id", "").lower()
        tasks = await self._gcs.call(self._gcs.client.tasks, job_id)
        dropped = await self._gcs.call(self._gcs.client.tasks_dropped)
        return json_response({"tasks": _select(request, tasks), "dropped": dropped})

    async def memory_info(self) -> Row:
        return await self._gcs.call(memory.gather, self._gcs.client, MEMORY_TIMEOUT_S)

    async def objects(self, request: web.Request) -> web.Response:
        info = await self.memory_info()
        return json_response({"objects": _select(request, info["objects"]),
                              "skipped": info["skipped"]})

    async def memory(self, request: web.Request) -> web.Response:
        info = await self.memory_info()
        return json_response({**info, "summary": rows.summarize_objects(info["objects"])})

    async def cluster_status(self, request: web.Request) -> web.Response:
        usage = await self._gcs.table("resource_usage")
        return json_response(rows.cluster_status(usage, await self._gcs.table("nodes")))


def _select(request: web.Request, items: list[Row]) -> list[Row]:
    """Applies ?key=value filters and ?limit=N."""
    limit = query_int(request, "limit")
    filters = {k: v for k, v in request.query.items() if k != "limit"}
    out = rows.filter_rows(items, filters)
    return out if limit is None else out[:limit]
