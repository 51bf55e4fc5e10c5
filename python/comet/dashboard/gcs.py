"""Async access to the GCS for the dashboard's handlers.

`comet._raylet.StateClient` calls block, so they run on one dedicated thread
(one call at a time: the client is not assumed thread-safe) and the event
loop awaits them. Raylet stats calls share that thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from typing import Any, Callable, TypeVar

from comet.util.state import rows

T = TypeVar("T")


class GcsUnavailable(RuntimeError):
    """The GCS (or a raylet) did not answer."""


class Gcs:
    """Owns a StateClient and its thread; `close()` shuts the thread down."""

    def __init__(self, address: str) -> None:
        from comet import _raylet

        self.address = address
        self._raylet = _raylet
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="gcs")
        self.client = _raylet.StateClient(address)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args))
        except (ConnectionError, TimeoutError) as e:
            raise GcsUnavailable(f"the GCS at {self.address} did not answer: {e}") from e

    async def table(self, name: str) -> list[dict[str, Any]]:
        """One of the StateClient tables: nodes, actors, jobs, resource_usage..."""
        return await self.call(getattr(self.client, name))

    async def node_stats(self, raylet_address: str, timeout_s: float = 10.0) -> dict[str, Any]:
        return await self.call(self._raylet.node_stats, raylet_address, timeout_s)

    async def live_node_stats(self, timeout_s: float = 2.0) -> tuple[
            list[tuple[dict[str, Any], dict[str, Any]]], list[dict[str, str]]]:
        """(node row, `node_stats()`) of every live node whose raylet answers,
        and {node_id, error} for those that did not."""
        answered, errors = [], []
        for raw in await self.table("nodes"):
            if raw.get("state") != "ALIVE":
                continue
            node = rows.node_row(raw)
            try:
                stats = await self.node_stats(node["raylet_address"], timeout_s)
            except (GcsUnavailable, RuntimeError, OSError) as e:
                errors.append({"node_id": node["node_id"], "error": str(e)})
                continue
            answered.append((node, stats))
        return answered, errors

    async def object_stores(self, timeout_s: float = 2.0) -> list[dict[str, Any]]:
        """`rows.object_store_row` of every live node whose raylet answers."""
        answered, _ = await self.live_node_stats(timeout_s)
        return [rows.object_store_row(n["node_id"], n["raylet_address"], s) for n, s in answered]

    async def hardware(self, timeout_s: float = 2.0) -> tuple[list[dict[str, Any]],
                                                              list[dict[str, str]]]:
        """`rows.hardware_row` of every live node whose raylet answers, and
        the errors of those that did not."""
        answered, errors = await self.live_node_stats(timeout_s)
        return [rows.hardware_row(n["node_id"], n["raylet_address"], s)
                for n, s in answered], errors

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
