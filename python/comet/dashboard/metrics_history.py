"""Samples the cluster every INTERVAL_S and keeps WINDOW_S of samples for the
UI's live charts. Runs as one task on the dashboard's event loop."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

from comet.dashboard.gcs import Gcs
from comet.util.state import rows

INTERVAL_S = 2.0
WINDOW_S = 600

logger = logging.getLogger(__name__)


def make_sample(usage: list[dict], actors: list[dict], task_counts: dict[str, int],
                stores: list[dict], hardware: list[dict]) -> dict[str, Any]:
    """One sample; object store figures are the stores' bytes in use and
    capacity (`rows.object_store_row`), not the object_store_memory resource;
    `machine_*` are the nodes' machines (`rows.hardware_row`): CPU percent of
    all their CPUs together, and memory in use of their total."""
    status = rows.cluster_status(usage, [])
    total, used = status["total"], status["used"]
    read = [h for h in hardware if h["sampled_at_ms"]]
    cpus = sum(h["num_cpus"] for h in read)
    return {"time": int(time.time() * 1000),
            "machine_cpu_percent": (sum(h["cpu_percent"] * h["num_cpus"] for h in read) / cpus
                                    if cpus else 0.0),
            "machine_memory_used": sum(h["memory_used_bytes"] for h in read),
            "machine_memory_total": sum(h["memory_total_bytes"] for h in read),
            "cpu_used": used.get("CPU", 0.0), "cpu_total": total.get("CPU", 0.0),
            "memory_used": used.get("memory", 0.0), "memory_total": total.get("memory", 0.0),
            "object_store_used": sum(s["used_bytes"] for s in stores),
            "object_store_total": sum(s["capacity_bytes"] for s in stores),
            "object_store_spilled": sum(s["spilled_bytes_on_disk"] for s in stores),
            "tasks": dict(task_counts),
            "actors": rows.count_by(actors, "state")}


class MetricsHistory:
    def __init__(self, gcs: Gcs, interval_s: float = INTERVAL_S, window_s: int = WINDOW_S) -> None:
        self._gcs = gcs
        self.interval_s = interval_s
        self.window_s = window_s
        self._samples: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=max(1, int(window_s / interval_s)))
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def to_json(self) -> dict[str, Any]:
        return {"interval_s": self.interval_s, "window_s": self.window_s,
                "samples": list(self._samples)}

    async def sample_once(self) -> None:
        usage = await self._gcs.table("resource_usage")
        actors = await self._gcs.table("actors")
        task_counts = await self._gcs.call(self._gcs.client.task_counts)
        answered, _ = await self._gcs.live_node_stats()
        stores = [rows.object_store_row(n["node_id"], n["raylet_address"], s)
                  for n, s in answered]
        hardware = [rows.hardware_row(n["node_id"], n["raylet_address"], s) for n, s in answered]
        self._samples.append(make_sample(usage, actors, task_counts, stores, hardware))

    async def _run(self) -> None:
        while True:
            try:
                await self.sample_once()
            except RuntimeError as e:  # GCS unavailable: a gap in the charts
                logger.warning("metrics sample failed: %s", e)
            await asyncio.sleep(self.interval_s)
