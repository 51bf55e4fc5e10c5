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
        totals, avails = [], []
        for row in usage:
            node = {"node_id": row.get("node_id", "")}
            total = rows.visible(rows.resources(row.get("total")))
            avail = rows.visible(rows.resources(row.get("available")))
            totals += [({**node, "resource": k}, v) for k, v in sorted(total.items())]
            avails += [({**node, "resource": k}, avail.get(k, 0.0)) for k in sorted(total)]
        out.family("comet_node_resource_capacity", "gauge",
                   "Total quantity of a resource on a node.", totals)
        out.family("comet_node_resource_available", "gauge",
                   "Available quantity of a resource on a node.", avails)
        out.family("comet_nodes", "gauge", "Nodes by state.", _counts(nodes, "state"))
        answered, _ = await self._gcs.live_node_stats()
        stores = [rows.object_store_row(n["node_id"], n["raylet_address"], s)
                  for n, s in answered]
        for name, kind, field, help_text in _STORE_METRICS:
            out.family(name, kind, help_text,
                       [({"node_id": s["node_id"]}, s[field]) for s in stores])
        hardware = [rows.hardware_row(n["node_id"], n["raylet_address"], s) for n, s in answered]
        hardware = [h for h in hardware if h["sampled_at_ms"]]  # read at least once
        for name, kind, field, help_text in _HARDWARE_METRICS:
            out.family(name, kind, help_text,
                       [({"node_id": h["node_id"]}, h[field]) for h in hardware])
        out.family("comet_actors", "gauge", "Actors by state.", _counts(actors, "state"))
        task_counts = await self._gcs.call(self._gcs.client.task_counts)
        out.family("comet_tasks", "gauge", "Task attempts the GCS keeps, by state.",
                   [({"state": k}, v) for k, v in sorted(task_counts.items())])
        dropped = await self._gcs.call(self._gcs.client.tasks_dropped)
        out.family("comet_task_events_dropped_total", "counter",
                   "Task attempts the GCS dropped (over its limit).", [({}, dropped)])
        refused = await self._gcs.call(self._gcs.client.auth_stats)
        out.family("comet_grpc_unauthenticated_total", "counter",
                   "gRPC calls refused for a missing or wrong cluster token, at the GCS and "
                   "at core workers (each raylet exports its own).",
                   [({"component": "gcs"}, refused["gcs_refused"]),
                    ({"component": "core_worker"}, refused["core_workers_refused"])])
        jobs = [j.to_json() for j in self._jobs.submitted()]
        out.family("comet_jobs", "gauge", "Submitted jobs by status.", _counts(jobs, "status"))


# (metric, type, field of rows.object_store_row, help)
_STORE_METRICS = [
    ("comet_object_store_used_bytes", "gauge", "used_bytes",
     "Bytes of the node's object store in use."),
    ("comet_object_store_capacity_bytes", "gauge", "capacity_bytes",
     "Size of the node's object store in bytes."),
    ("comet_object_store_fallback_bytes", "gauge", "fallback_bytes",
     "Bytes of objects in file-backed fallback memory (store full)."),
    ("comet_object_store_objects", "gauge", "num_objects",
     "Objects in the node's object store."),
    ("comet_object_store_spilled_bytes", "gauge", "spilled_bytes_on_disk",
     "Bytes of spilled objects on disk now."),
    ("comet_object_store_spilled_objects", "gauge", "num_spilled_objects",
     "Spilled objects on disk now."),
    ("comet_object_store_evictions_total", "counter", "num_evictions",
     "Objects evicted from the node's object store."),
    ("comet_object_store_spilled_bytes_total", "counter", "bytes_spilled_total",
     "Bytes spilled to disk since the node started."),
    ("comet_object_store_restored_bytes_total", "counter", "bytes_restored_total",
     "Bytes restored from disk since the node started."),
    ("comet_object_manager_pulled_bytes_total", "counter", "bytes_pulled_total",
     "Bytes pulled from other nodes since the node started."),
    ("comet_object_manager_pulled_objects_total", "counter", "num_pulled_total",
     "Objects pulled from other nodes since the node started."),
]


# The raylets' own names (node_hardware.cc) for the same figures.
_HARDWARE_METRICS = [
    ("comet_node_cpus", "gauge", "num_cpus", "Logical CPUs of the node's machine."),
    ("comet_node_cpu_percent", "gauge", "cpu_percent",
     "CPU use of the whole machine, 0-100, over the raylet's last second."),
    ("comet_node_memory_size_bytes", "gauge", "memory_total_bytes", "The machine's memory."),
    ("comet_node_memory_available_bytes", "gauge", "memory_available_bytes",
     "Memory that can be had without swapping (MemAvailable)."),
    ("comet_node_memory_used_bytes", "gauge", "memory_used_bytes",
     "Memory size minus what is available."),
    ("comet_node_disk_size_bytes", "gauge", "disk_total_bytes",
     "Size of the filesystem that holds the node's session folder."),
    ("comet_node_disk_used_bytes", "gauge", "disk_used_bytes", "Bytes used on that filesystem."),
    ("comet_node_network_received_bytes_total", "counter", "network_received_bytes",
     "Bytes received on every interface but loopback since boot."),
    ("comet_node_network_sent_bytes_total", "counter", "network_sent_bytes",
     "Bytes sent on every interface but loopback since boot."),
]


def _counts(items: list[dict[str, Any]], field: str) -> list[tuple[dict[str, str], float]]:
    return [({field: k}, v) for k, v in sorted(rows.count_by(items, field).items())]
