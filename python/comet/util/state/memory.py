"""The cluster's object references and object stores (what `comet memory`,
`comet list objects` and the dashboard's /api/memory show).

Objects have no table in the GCS: references live in their owners' and
borrowers' processes. So every live worker (each raylet's `node_stats()`
names them, with their ports) and every live driver (the GCS job table's
`driver_address`) is asked for its references with `object_refs()`, in
parallel; one that does not answer within `timeout_s` is skipped with a note.
"""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

from comet.util.state import rows

Row = dict[str, Any]

DEFAULT_TIMEOUT_S = 2.0
_ERRORS = (ConnectionError, TimeoutError, RuntimeError, OSError)


def ask(call: Any, address: str, timeout_s: float) -> Any:
    """`call(address, timeout_s)`, tried once more after a failed connection:
    a live process's first connection attempt can fail on a loaded machine
    (gRPC fails a call at once when its channel's first connect fails)."""
    try:
        return call(address, timeout_s)
    except ConnectionError:
        time.sleep(0.2)
        return call(address, timeout_s)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _targets(client: Any, nodes: list[Row], timeout_s: float,
             pool: concurrent.futures.Executor) -> tuple[list[Row], list[Row], list[Row]]:
    """(object stores per node, processes to ask, skipped): every live node's
    stats, then its workers with a port, then the live drivers."""
    from comet import _raylet

    stores, targets, skipped = [], [], []
    stats = {n["node_id"]: pool.submit(ask, _raylet.node_stats, n["raylet_address"], timeout_s)
             for n in nodes}
    for node in nodes:
        try:
            reply = stats[node["node_id"]].result()
        except _ERRORS as e:
            skipped.append({"type": "RAYLET", "address": node["raylet_address"], "pid": None,
                            "node_id": node["node_id"], "error": _first_line(e)})
            continue
        stores.append(rows.object_store_row(node["node_id"], node["raylet_address"], reply))
        host = node["node_manager_address"]
        for w in reply.get("workers", []):
            if w.get("port"):
                targets.append({"type": "WORKER", "address": f"{host}:{w['port']}",
                                "pid": w.get("pid"), "node_id": node["node_id"],
                                "job_id": w.get("job_id", "")})
    for job in client.jobs():
        addr = job.get("driver_address") or {}
        if job.get("is_dead") or not addr.get("port"):
            continue
        targets.append({"type": "DRIVER", "address": f"{addr['ip_address']}:{addr['port']}",
                        "pid": job.get("driver_pid"), "node_id": addr.get("node_id", ""),
                        "job_id": job.get("job_id", "")})
    return stores, targets, skipped


def gather(client: Any, timeout_s: float = DEFAULT_TIMEOUT_S) -> Row:
    """{"holders": [...], "objects": [...], "nodes": [...], "skipped": [...]}.

    holders: each process that answered (type DRIVER/WORKER, pid, ip, port,
    worker_id, node_id, job_id, num_objects); objects: one row per reference
    (`rows.object_rows`); nodes: per-node object store counters; skipped: the
    raylets and processes that did not answer ({type, address, pid, node_id,
    error}). `client` is a `comet._raylet.StateClient`."""
    from comet import _raylet

    nodes = [rows.node_row(n) for n in client.nodes() if n.get("state") == "ALIVE"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=16,
                                               thread_name_prefix="object-refs") as pool:
        stores, targets, skipped = _targets(client, nodes, timeout_s, pool)
        seen: set[str] = set()
        futures = []
        for target in targets:
            if target["address"] in seen:
                continue
            seen.add(target["address"])
            futures.append((target, pool.submit(ask, _raylet.object_refs,
                                                target["address"], timeout_s)))
        holders, objects = [], []
        for target, future in futures:
            try:
                reply = future.result()
            except _ERRORS as e:
                skipped.append({**{k: target[k] for k in ("type", "address", "pid", "node_id")},
                                "error": _first_line(e)})
                continue
            holder = rows.holder_row(reply, target["job_id"])
            refs = rows.object_rows(reply, target["job_id"])
            holders.append({**holder, "num_objects": len(refs)})
            objects += refs
    return {"holders": holders, "objects": objects, "nodes": stores, "skipped": skipped}
