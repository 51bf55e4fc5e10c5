"""The state API: lists and summaries of the cluster's nodes, actors, tasks,
objects, jobs, workers and placement groups, read from the GCS (and raylets,
workers and drivers for workers and objects) directly.

Each function takes ``address=`` (the GCS address, HOST:PORT); ``None`` finds
the running cluster like ``comet.init(address="auto")`` does.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from comet._private.session import DEFAULT_TEMP_DIR, find_gcs_address
from comet.util.state import memory, rows

Row = dict[str, Any]


def resolve_address(address: str | None = None) -> str:
    """The GCS address to read: `address`, else the cluster this process is
    connected to, else COMET_ADDRESS or the latest session on this machine."""
    if address is None:
        from comet._private import worker_context

        ctx = worker_context.get()
        if ctx.connected and ctx.gcs_address:
            return ctx.gcs_address
    temp_dir = os.environ.get("COMET_TEMP_DIR", DEFAULT_TEMP_DIR)
    return find_gcs_address(address or "auto", temp_dir)


@functools.lru_cache(maxsize=8)
def _client_for(address: str) -> Any:
    from comet import _raylet

    return _raylet.StateClient(address)


def state_client(address: str | None = None) -> Any:
    """A (cached) `comet._raylet.StateClient` for the cluster at `address`."""
    return _client_for(resolve_address(address))


def _filtered(items: list[Row], filters: dict[str, str] | None, limit: int | None) -> list[Row]:
    out = rows.filter_rows(items, filters or {})
    return out if limit is None else out[:limit]


def list_nodes(address: str | None = None, filters: dict[str, str] | None = None,
               limit: int | None = None) -> list[Row]:
    return _filtered([rows.node_row(n) for n in state_client(address).nodes()], filters, limit)


def list_actors(address: str | None = None, filters: dict[str, str] | None = None,
                limit: int | None = None) -> list[Row]:
    return _filtered([rows.actor_row(a) for a in state_client(address).actors()],
                     filters, limit)


def list_placement_groups(address: str | None = None, filters: dict[str, str] | None = None,
                          limit: int | None = None) -> list[Row]:
    pgs = state_client(address).placement_groups()
    return _filtered([rows.placement_group_row(p) for p in pgs], filters, limit)


def list_jobs(address: str | None = None, filters: dict[str, str] | None = None,
              limit: int | None = None) -> list[Row]:
    """Jobs: submitted ones (from the job records in the GCS KV) and drivers."""
    from comet.dashboard import job_store

    client = state_client(address)
    submitted = [info.to_json() for info in job_store.JobStore(client).load_all()]
    linked = {j["job_id"] for j in submitted if j.get("job_id")}
    drivers = [rows.gcs_job_row(j) for j in client.jobs() if j.get("job_id") not in linked]
    return _filtered(submitted + drivers, filters, limit)


def list_workers(address: str | None = None, filters: dict[str, str] | None = None,
                 limit: int | None = None) -> list[Row]:
    """Workers of every live raylet (a raylet that does not answer is skipped)."""
    from comet import _raylet

    out = []
    for node in list_nodes(address, {"state": "ALIVE"}):
        try:
            stats = memory.ask(_raylet.node_stats, node["raylet_address"], 10.0)
        except (ConnectionError, RuntimeError, OSError):
            continue
        out += rows.worker_rows(node["node_id"], node["raylet_address"], stats)
    return _filtered(out, filters, limit)


def list_tasks(address: str | None = None, filters: dict[str, str] | None = None,
               limit: int | None = None) -> list[Row]:
    """Task attempts, newest first (one row per attempt; the GCS keeps the newest
    100k). The GCS receives task events about once a second."""
    filters = dict(filters or {})
    job_id = filters.get("job_id", "").lower()
    if not filters and limit is not None:  # the GCS can cut the list itself
        return list(state_client(address).tasks(limit=limit)) if limit else []
    return _filtered(list(state_client(address).tasks(job_id=job_id)), filters, limit)


def memory_info(address: str | None = None,
                timeout_s: float = memory.DEFAULT_TIMEOUT_S) -> Row:
    """Every live worker's and driver's object references and every node's object
    store counters (`memory.gather`); processes that do not answer within
    `timeout_s` are listed under "skipped"."""
    return memory.gather(state_client(address), timeout_s)


def list_objects(address: str | None = None, filters: dict[str, str] | None = None,
                 limit: int | None = None,
                 timeout_s: float = memory.DEFAULT_TIMEOUT_S) -> list[Row]:
    """One row per object reference held by a live worker or driver."""
    return _filtered(memory_info(address, timeout_s)["objects"], filters, limit)


def summarize_objects(address: str | None = None) -> Row:
    return rows.summarize_objects(list_objects(address))


def summarize_tasks(address: str | None = None) -> Row:
    return rows.summarize_tasks(list_tasks(address))


def summarize_actors(address: str | None = None) -> Row:
    return rows.summarize_actors(list_actors(address))


def cluster_status(address: str | None = None) -> Row:
    client = state_client(address)
    return rows.cluster_status(client.resource_usage(), client.nodes())
