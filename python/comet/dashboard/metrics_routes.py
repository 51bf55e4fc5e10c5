"""GET /metrics (Prometheus text) and GET /api/metrics/history, plus the
middleware that times the dashboard's own handlers."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from comet.dashboard.gcs import Gcs
from comet.dashboard.http_util import Handler, json_response
from comet.dashboard.job_manager import JobManager
from comet.dashboard.metrics_history import MetricsHistory
from comet.dashboard.prometheus import Exposition, Histogram
from comet.util.state import rows


class MetricsRoutes:
    def __init__(self, gcs: Gcs, jobs: JobManager, history: MetricsHistory) -> None:
        self._gcs = gcs
        self._jobs = jobs
        self._history = history
        self.latency = Histogram("comet_dashboard_request_seconds",
                                 "Latency of the dashboard's HTTP handlers in seconds.",
                                 ("method", "route"))

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/api/metrics/history", self.history)

    @web.middleware
    async def timing_middleware(self, request: web.Request,
                                handler: Handler) -> web.StreamResponse:
        start = time.perf_counter()
        try:
            return await handler(request)
        finally:
            info = request.match_info
            route = info.route.resource.canonical if info.route.resource else "unmatched"
            if not route.endswith("/logs/tail"):  # streams: their time is the job's
                self.latency.observe((request.method, route), time.perf_counter() - start)

    async def history(self, request: web.Request) -> web.Response:
        return json_response(self._history.to_json())

    async def metrics(self, request: web.Request) -> web.Response:
        out = Exposition()
        await self._write_cluster(out)
        self.latency.write(out)
        return web.Response(text=out.render(),
                            content_type="text/plain", charset="utf-8",
                            headers={"X-Prometheus-Format": "0.0.4"})

    async def _write_cluster(self, out: Exposition) -> None:
        nodes = await self._gcs.table("nodes")
        usage = await self._gcs.table("resource_usage")
        actors = await self._gcs.table("actors")
        totals, avails, store_used, store_cap = [], [], [], []
        for row in usage:
            node = {"node_id": row.get("node_id", "")}
            total = rows.visible(rows.resources(row.get("total")))
            avail = rows.visible(rows.resources(row.get("available")))
            totals += [({**node, "resource": k}, v) for k, v in sorted(total.items())]
            avails += [({**node, "resource": k}, avail.get(k, 0.0)) for k in sorted(total)]
            if "object_store_memory" in total:
                cap = total["object_store_memory"]
                store_cap.append((node, cap))
                store_used.append((node, max(0.0, cap - avail.get("object_store_memory", 0.0))))
        out.family("comet_node_resources_total", "gauge",
                   "Total quantity of a resource on a node.", totals)
        out.family("comet_node_resources_available", "gauge",
                   "Available quantity of a resource on a node.", avails)
        out.family("comet_nodes", "gauge", "Nodes by state.", _counts(nodes, "state"))
        out.family("comet_object_store_used_bytes", "gauge",
                   "Object store memory in use on a node.", store_used)
        out.family("comet_object_store_capacity_bytes", "gauge",
                   "Object store memory of a node.", store_cap)
        out.family("comet_actors", "gauge", "Actors by state.", _counts(actors, "state"))
        if self._gcs.has("tasks"):
            out.family("comet_tasks", "gauge", "Tasks by state.",
                       _counts(await self._gcs.table("tasks"), "state"))
        jobs = [j.to_json() for j in self._jobs.submitted()]
        out.family("comet_jobs", "gauge", "Submitted jobs by status.", _counts(jobs, "status"))


def _counts(items: list[dict[str, Any]], field: str) -> list[tuple[dict[str, str], float]]:
    return [({field: k}, v) for k, v in sorted(rows.count_by(items, field).items())]
