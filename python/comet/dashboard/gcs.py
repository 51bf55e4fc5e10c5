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

    async def object_stores(self, timeout_s: float = 2.0) -> list[dict[str, Any]]:
        """`rows.object_store_row` of every live node whose raylet answers."""
        out = []
        for raw in await self.table("nodes"):
            if raw.get("state") != "ALIVE":
                continue
            node = rows.node_row(raw)
            try:
                stats = await self.node_stats(node["raylet_address"], timeout_s)
            except (GcsUnavailable, RuntimeError, OSError):
                continue
            out.append(rows.object_store_row(node["node_id"], node["raylet_address"], stats))
        return out

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
