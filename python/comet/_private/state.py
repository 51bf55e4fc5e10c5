"""The older state helpers Ray still ships and that tests and notebooks call
(``ray._private.state.actors()``, ``available_resources_per_node()``,
``state.actor_table(...)``), and the task timeline behind
``comet.timeline()``. Each reads the GCS of the cluster this process is
connected to; call ``comet.init()`` first.

For new code, ``comet.util.state`` (list_actors, list_nodes, ...) is the
supported API.
"""

from __future__ import annotations

import json
from typing import Any

from comet._private import worker_context
from comet.util.state import rows


def _client() -> Any:
    from comet.util.state.api import state_client

    worker_context.core_worker()  # raises when this process is not connected
    return state_client(worker_context.get().gcs_address)


def _address(raw: dict[str, Any]) -> dict[str, Any]:
    return {"NodeID": raw.get("node_id", ""), "IPAddress": raw.get("ip_address", ""),
            "Port": raw.get("port", 0), "WorkerID": raw.get("worker_id", "")}


def _actor_entry(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "ActorID": raw.get("actor_id", ""),
        "ActorClassName": raw.get("class_name", ""),
        "Name": raw.get("name", ""),
        "Namespace": raw.get("ray_namespace", ""),
        "JobID": raw.get("job_id", ""),
        "State": raw.get("state", ""),
        "IsDetached": bool(raw.get("is_detached", False)),
        "NumRestarts": int(raw.get("num_restarts", 0)),
        "MaxRestarts": int(raw.get("max_restarts", 0)),
        "Address": _address(raw.get("address") or {}),
        "OwnerAddress": _address(raw.get("owner_address") or {}),
        "Pid": int(raw.get("pid", 0)),
        "NodeID": raw.get("node_id", ""),
        "StartTime": int(raw.get("start_time_ms", 0)),
        "EndTime": int(raw.get("end_time_ms", 0)),
        "DeathCause": raw.get("death_cause", ""),
        "RequiredResources": rows.resources(raw.get("required_resources")),
    }


class GlobalState:
    """Ray's ``ray._private.state.state``: the cluster's tables as dicts with
    Ray's keys."""

    def actor_table(self, actor_id: str | None = None) -> dict[str, Any]:
        """Every actor by hex id; with ``actor_id`` (hex), that actor's entry
        (``{}`` when unknown)."""
        table = {a["ActorID"]: a for a in map(_actor_entry, _client().actors())}
        if actor_id is not None:
            return table.get(actor_id, {})
        return table

    def node_table(self) -> list[dict[str, Any]]:
        """Every node, alive or dead, as ``comet.nodes()`` gives them."""
        return worker_context.core_worker().nodes()

    def job_table(self) -> list[dict[str, Any]]:
        """Every job (driver) the GCS knows."""
        return [{"JobID": j.get("job_id", ""), "IsDead": bool(j.get("is_dead", False)),
                 "StartTime": int(j.get("start_time_ms", 0)),
                 "EndTime": int(j.get("end_time_ms", 0)),
                 "DriverPid": int(j.get("driver_pid", 0)),
                 "Entrypoint": j.get("entrypoint", ""),
                 "Namespace": j.get("namespace", "")} for j in _client().jobs()]

    def _per_node(self, key: str) -> dict[str, dict[str, float]]:
        out = {}
        for row in _client().resource_usage():
            res = rows.visible(rows.resources(row.get(key)))
            if key == "available":
                res = {k: v for k, v in res.items() if v > 0}
            out[row.get("node_id", "")] = res
        return out

    def available_resources_per_node(self) -> dict[str, dict[str, float]]:
        """Free resources of each alive node, by hex node id."""
        return self._per_node("available")

    def total_resources_per_node(self) -> dict[str, dict[str, float]]:
        """Total resources of each alive node, by hex node id."""
        return self._per_node("total")

    def cluster_resources(self) -> dict[str, float]:
        from comet._private.worker import cluster_resources

        return cluster_resources()

    def available_resources(self) -> dict[str, float]:
        from comet._private.worker import available_resources

        return available_resources()

    def chrome_tracing_dump(self, filename: str | None = None) -> list[dict[str, Any]] | None:
        """The task timeline as Chrome trace events (see :func:`timeline`)."""
        return timeline(filename)


state = GlobalState()


def actors(actor_id: str | None = None) -> dict[str, Any]:
    """Ray's ``ray._private.state.actors()``: see GlobalState.actor_table."""
    return state.actor_table(actor_id)


def nodes() -> list[dict[str, Any]]:
    return state.node_table()


def jobs() -> list[dict[str, Any]]:
    return state.job_table()


def available_resources_per_node() -> dict[str, dict[str, float]]:
    return state.available_resources_per_node()


def total_resources_per_node() -> dict[str, dict[str, float]]:
    return state.total_resources_per_node()


def timeline(filename: str | None = None) -> list[dict[str, Any]] | None:
    """The tasks the GCS keeps, as Chrome trace events ("X" events: one per
    task attempt that started, on a row per worker process, grouped by
    node), to load in chrome://tracing or Perfetto.

    With ``filename``, writes them there as JSON and returns None; else
    returns the list. Task events reach the GCS about once a second, so the
    last second's tasks may be missing.
    """
    events = []
    for task in _client().tasks():
        start, end = int(task.get("start_time_ms", 0)), int(task.get("end_time_ms", 0))
        if not start:
            continue
        if not end:
            end = start  # still running: an instant at its start
        name = task.get("name") or task.get("func_name") or "task"
        events.append({
            "cat": f"task::{name}",
            "name": name,
            "pid": f"Node {task.get('node_id', '')[:12]}",
            "tid": f"Worker {task.get('worker_pid', 0)}",
            "ph": "X",
            "ts": start * 1000,
            "dur": (end - start) * 1000,
            "cname": "rail_response" if task.get("state") == "FAILED" else "generic_work",
            "args": {"task_id": task.get("task_id", ""), "job_id": task.get("job_id", ""),
                     "state": task.get("state", ""), "func_name": task.get("func_name", ""),
                     "attempt": task.get("attempt", 0), "error": task.get("error", "")},
        })
    events.sort(key=lambda e: e["ts"])
    if filename is None:
        return events
    with open(filename, "w") as f:
        json.dump(events, f)
    return None
