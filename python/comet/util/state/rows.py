"""Pure functions that turn the GCS tables (as `comet._raylet.StateClient`
returns them) into the rows the state API, the CLI and the dashboard show.

No I/O here: every function takes the raw rows and returns new ones.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterable

Row = dict[str, Any]

# Per-node bookkeeping resources that only clutter totals, and the renamed
# copies of resources that placement-group bundles hold (CPU_group_<hex>,
# CPU_group_0_<hex>, bundle_group_<hex>): the bundle's CPU is already counted.
HIDDEN_RESOURCE_PREFIXES = ("node:", "node_id:")
_BUNDLE_RESOURCE = re.compile(r"_group_(\d+_)?[0-9a-f]{16,}$")
# A group's copy of a resource for any of its bundles (CPU_group_<hex>, no
# index): summed over nodes, what the group reserves and what runs in it.
_GROUP_WILDCARD = re.compile(r"^(?P<name>.+)_group_[0-9a-f]{16,}$")


def resources(value: Any) -> dict[str, float]:
    """A ResourceSet row ({"quantities": {...}}) or a plain map -> {name: qty}."""
    if isinstance(value, dict) and set(value) == {"quantities"}:
        value = value["quantities"]
    return dict(value or {})


def visible(res: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in res.items()
            if not k.startswith(HIDDEN_RESOURCE_PREFIXES) and not _BUNDLE_RESOURCE.search(k)}


def node_row(raw: Row, head_session_dir: str | None = None) -> Row:
    row = {k: v for k, v in raw.items() if k != "total_resources"}
    row["total_resources"] = resources(raw.get("total_resources"))
    row["raylet_address"] = f"{raw.get('node_manager_address')}:{raw.get('node_manager_port')}"
    if head_session_dir is not None:
        row["is_head"] = raw.get("session_dir") == head_session_dir
    return row


_ACTOR_FIELDS = ("actor_id", "class_name", "name", "ray_namespace", "state", "job_id",
                 "node_id", "pid", "is_detached", "num_restarts", "max_restarts",
                 "death_cause", "start_time_ms", "end_time_ms")


def actor_row(raw: Row) -> Row:
    row = {k: raw.get(k) for k in _ACTOR_FIELDS}
    row["worker_id"] = (raw.get("address") or {}).get("worker_id", "")
    row["required_resources"] = resources(raw.get("required_resources"))
    return row


def placement_group_row(raw: Row) -> Row:
    return {k: _flatten_resource_sets(v) for k, v in raw.items()}


def _flatten_resource_sets(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"quantities"}:
            return dict(value["quantities"])
        return {k: _flatten_resource_sets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_flatten_resource_sets(v) for v in value]
    return value


def gcs_job_row(raw: Row) -> Row:
    """A GCS job (a driver) as a row of `list jobs`."""
    end = raw.get("end_time_ms") or None
    return {"type": "DRIVER", "submission_id": None, "job_id": raw.get("job_id"),
            "entrypoint": raw.get("entrypoint", ""),
            "status": "SUCCEEDED" if raw.get("is_dead") else "RUNNING",
            "message": "", "start_time": raw.get("start_time_ms") or None, "end_time": end,
            "exit_code": None, "driver_pid": raw.get("driver_pid"),
            "metadata": {}, "runtime_env": {}}


def worker_rows(node_id: str, raylet_address: str, stats: Row) -> list[Row]:
    return [{"node_id": node_id, "raylet_address": raylet_address, **w}
            for w in stats.get("workers", [])]


def cluster_status(usage: list[Row], nodes: list[Row]) -> Row:
    """Per-node and cluster totals from `resource_usage()` and `nodes()` rows.

    `placement_groups` maps a resource to what placement groups reserve of it
    (already counted as used in `used`) and how much of that their tasks and
    actors use, as `ray status` folds them."""
    total: Counter[str] = Counter()
    avail: Counter[str] = Counter()
    reserved: Counter[str] = Counter()
    reserved_used: Counter[str] = Counter()
    per_node, pending = [], []
    for row in usage:
        raw_total, raw_avail = resources(row.get("total")), resources(row.get("available"))
        groups = _group_usage(raw_total, raw_avail)
        t = visible(raw_total)
        a = visible(raw_avail)
        demands = [resources(d) for d in row.get("pending_demands", [])]
        per_node.append({"node_id": row.get("node_id"),
                         "raylet_address": row.get("raylet_address"),
                         "total": t, "available": a, "used": _used(t, a),
                         "placement_groups": groups, "pending_demands": demands})
        total.update(t)
        avail.update(a)
        reserved.update({k: g["reserved"] for k, g in groups.items()})
        reserved_used.update({k: g["used"] for k, g in groups.items()})
        pending += demands
    return {"nodes": per_node, "total": dict(total), "available": dict(avail),
            "used": _used(dict(total), dict(avail)), "pending_demands": pending,
            "placement_groups": {k: {"reserved": v, "used": reserved_used[k]}
                                 for k, v in reserved.items()},
            "dead_nodes": sum(1 for n in nodes if n.get("state") == "DEAD")}


def _group_usage(total: dict[str, float], avail: dict[str, float]) -> dict[str, Row]:
    """{resource: {"reserved", "used"}} of one node's placement-group bundles."""
    reserved: Counter[str] = Counter()
    used: Counter[str] = Counter()
    for name, qty in total.items():
        match = _GROUP_WILDCARD.match(name)
        if match and match["name"] != "bundle":
            reserved[match["name"]] += qty
            used[match["name"]] += max(0.0, qty - avail.get(name, 0.0))
    return {k: {"reserved": v, "used": used[k]} for k, v in reserved.items()}


def _used(total: dict[str, float], avail: dict[str, float]) -> dict[str, float]:
    return {k: max(0.0, v - avail.get(k, 0.0)) for k, v in total.items()}


def filter_rows(rows: Iterable[Row], filters: dict[str, str]) -> list[Row]:
    """Rows whose top-level fields equal the filter values (as strings, any case)."""
    def keep(row: Row) -> bool:
        return all(str(row.get(k, "")).lower() == str(v).lower() for k, v in filters.items())
    return [r for r in rows if keep(r)]


def parse_filters(pairs: Iterable[str]) -> dict[str, str]:
    """["state=ALIVE", ...] -> {"state": "ALIVE"}; ValueError for a pair without '='."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"filter {pair!r} is not KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def count_by(rows: Iterable[Row], field: str) -> dict[str, int]:
    return dict(Counter(str(r.get(field)) for r in rows))


def summarize_tasks(tasks: list[Row]) -> Row:
    """{"total": n, "by_state": {...}, "by_name": {name: {state: n}}}."""
    by_name: dict[str, Counter[str]] = {}
    for t in tasks:
        by_name.setdefault(str(t.get("name")), Counter())[str(t.get("state"))] += 1
    return {"total": len(tasks), "by_state": count_by(tasks, "state"),
            "by_name": {n: dict(c) for n, c in sorted(by_name.items())}}


def summarize_actors(actors: list[Row]) -> Row:
    """{"total": n, "by_state": {...}, "by_class": {class: {state: n}}}."""
    by_class: dict[str, Counter[str]] = {}
    for a in actors:
        by_class.setdefault(str(a.get("class_name")), Counter())[str(a.get("state"))] += 1
    return {"total": len(actors), "by_state": count_by(actors, "state"),
            "by_class": {n: dict(c) for n, c in sorted(by_class.items())}}


def timeline_events(tasks: list[Row], now_ms: int | None = None) -> list[Row]:
    """Chrome trace events: one complete ("X") event per task attempt that
    started, with pid = its node and tid = its worker's pid; times in
    microseconds. A task still running ends at `now_ms` (else at its start)."""
    events = []
    for t in tasks:
        start = t.get("start_time_ms") or 0
        if not start:
            continue
        end = t.get("end_time_ms") or (now_ms if t.get("state") == "RUNNING" and now_ms
                                       else start)
        events.append({"name": t.get("name") or t.get("task_id"), "cat": t.get("type") or "task",
                       "ph": "X", "ts": start * 1000, "dur": max(0, end - start) * 1000,
                       "pid": f"node {str(t.get('node_id') or '')[:12]}",
                       "tid": t.get("worker_pid") or 0,
                       "args": {"task_id": t.get("task_id"), "attempt": t.get("attempt"),
                                "state": t.get("state"), "type": t.get("type"),
                                "func_name": t.get("func_name"), "job_id": t.get("job_id"),
                                "actor_id": t.get("actor_id"), "worker_id": t.get("worker_id"),
                                "error": t.get("error")}})
    return events


# -- objects ------------------------------------------------------------------------


def reference_type(obj: Row) -> str:
    """Ray's reference types for one reference a worker holds: a reference used
    by a task it submitted, one held by Python code, one that only lives on
    inside another value (or another process) after it escaped."""
    if obj.get("submitted_task_refs", 0) > 0:
        return "USED_BY_PENDING_TASK"
    if obj.get("local_refs", 0) > 0:
        return "LOCAL_REFERENCE"
    if obj.get("escaped"):
        return "CAPTURED_IN_OBJECT"
    return "UNKNOWN_STATUS"


def object_location(obj: Row) -> str:
    """inline (the owner's in-process store), plasma (a node's shared-memory
    store; node_id says which) or pending (not created yet)."""
    if obj.get("size", -1) < 0:
        return "pending"
    return "plasma" if obj.get("in_plasma") else "inline"


def holder_row(reply: Row, job_id: str = "") -> Row:
    """Who answered an `object_refs()` call: a driver or a worker."""
    address = reply.get("address") or {}
    return {"type": "DRIVER" if reply.get("is_driver") else "WORKER", "pid": reply.get("pid"),
            "ip": address.get("ip_address", ""), "port": address.get("port"),
            "worker_id": address.get("worker_id", ""), "node_id": address.get("node_id", ""),
            "job_id": job_id}


def object_rows(reply: Row, job_id: str = "") -> list[Row]:
    """One row per reference in an `object_refs()` reply, with its holder."""
    holder = holder_row(reply, job_id)
    out = []
    for obj in reply.get("objects", []):
        out.append({"object_id": obj.get("object_id"), "size": obj.get("size"),
                    "ownership": obj.get("ownership"), "reference_type": reference_type(obj),
                    "location": object_location(obj), "node_id": obj.get("node_id") or "",
                    "local_refs": obj.get("local_refs"),
                    "submitted_task_refs": obj.get("submitted_task_refs"),
                    "escaped": obj.get("escaped"),
                    "type": holder["type"], "pid": holder["pid"], "ip": holder["ip"],
                    "worker_id": holder["worker_id"], "job_id": holder["job_id"]})
    return out


_STORE_FIELDS = ("capacity_bytes", "used_bytes", "fallback_bytes", "num_objects",
                 "num_evictions", "spilled_bytes_on_disk", "num_spilled_objects",
                 "bytes_spilled_total", "num_objects_spilled_total", "bytes_restored_total",
                 "num_objects_restored_total", "bytes_pulled_total", "num_pulled_total")


def object_store_row(node_id: str, raylet_address: str, stats: Row) -> Row:
    """A node's object store counters from `node_stats()`."""
    store = stats.get("object_store") or {}
    return {"node_id": node_id, "raylet_address": raylet_address,
            **{k: int(store.get(k, 0)) for k in _STORE_FIELDS}}


_HARDWARE_INT_FIELDS = ("sampled_at_ms", "num_cpus", "memory_total_bytes",
                        "memory_available_bytes", "disk_total_bytes", "disk_used_bytes",
                        "network_received_bytes", "network_sent_bytes")
_HARDWARE_RATE_FIELDS = ("cpu_percent", "network_receive_bytes_per_s",
                         "network_send_bytes_per_s")


def hardware_row(node_id: str, raylet_address: str, stats: Row) -> Row:
    """A node's machine figures from `node_stats()` (the raylet reads /proc
    every second), with memory_used_bytes, the workers' total RSS and how many
    workers the memory monitor killed there."""
    hw = stats.get("hardware") or {}
    row: Row = {"node_id": node_id, "raylet_address": raylet_address,
                **{k: int(hw.get(k, 0)) for k in _HARDWARE_INT_FIELDS},
                **{k: float(hw.get(k, 0.0)) for k in _HARDWARE_RATE_FIELDS}}
    row["memory_used_bytes"] = max(0, row["memory_total_bytes"] - row["memory_available_bytes"])
    workers = stats.get("workers", [])
    row["workers_rss_bytes"] = sum(int(w.get("rss_bytes", 0)) for w in workers)
    row["workers_cpu_percent"] = sum(float(w.get("cpu_percent", 0.0)) for w in workers)
    row["memory_monitor_kills"] = int(stats.get("memory_monitor_kills", 0))
    return row


def summarize_objects(objects: list[Row]) -> Row:
    """Totals over object rows: references, distinct objects and their bytes
    (each object counted once), by reference type, by location, by holder."""
    sizes: dict[str, int] = {}
    for o in objects:
        sizes[str(o.get("object_id"))] = max(0, int(o.get("size") or 0))
    by_holder: dict[str, Counter[str]] = {}
    for o in objects:
        key = f"{o.get('type')} pid {o.get('pid')}"
        by_holder.setdefault(key, Counter())[str(o.get("reference_type"))] += 1
    return {"total": len(objects), "objects": len(sizes), "total_bytes": sum(sizes.values()),
            "by_reference_type": count_by(objects, "reference_type"),
            "by_location": count_by(objects, "location"),
            "by_holder": {k: dict(c) for k, c in sorted(by_holder.items())}}
