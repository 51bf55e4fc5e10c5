"""comet.util.state: read the cluster's state (Ray's ``ray.util.state``)."""

from __future__ import annotations

from comet.util.state.api import (
    cluster_status,
    list_actors,
    list_jobs,
    list_nodes,
    list_objects,
    list_placement_groups,
    list_tasks,
    list_workers,
    memory_info,
    resolve_address,
    summarize_actors,
    summarize_objects,
    summarize_tasks,
)

__all__ = [
    "cluster_status", "list_actors", "list_jobs", "list_nodes", "list_objects",
    "list_placement_groups", "list_tasks", "list_workers", "memory_info", "resolve_address",
    "summarize_actors", "summarize_objects", "summarize_tasks",
]
