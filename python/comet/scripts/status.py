"""`comet status`: the cluster's nodes, resource usage and pending demands,
laid out as `ray status` lays them out."""

from __future__ import annotations

import datetime
import os
from collections import Counter
from typing import Any

import click

from comet._private import session
from comet._private.session import DEFAULT_TEMP_DIR
from comet.scripts.netcheck import is_listening, split_address
from comet.util.state import rows

Row = dict[str, Any]

_BYTE_RESOURCES = ("memory", "object_store_memory")
_RULE = "-" * 63
# Pending placement groups are those the GCS has not placed (yet, or again).
_PENDING_GROUP_STATES = ("PENDING", "RESCHEDULING")


def _fmt(name: str, qty: float) -> str:
    """A quantity as `ray status` prints it: bytes with a unit, others as 1.0."""
    if name in _BYTE_RESOURCES:
        for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if qty >= size:
                return f"{qty / size:.2f}{unit}"
        return f"{qty:.0f}B"
    return f"{float(qty):.1f}"


def _order(name: str) -> tuple[int, str]:
    """CPU and GPU first, custom resources by name, memory last."""
    if name in ("CPU", "GPU"):
        return (0, name)
    return (2 if name in _BYTE_RESOURCES else 1, name)


def usage_lines(total: dict[str, float], used: dict[str, float],
                groups: dict[str, Row] | None = None) -> list[str]:
    """One " used/total name" line per resource; a resource placement groups
    reserve says how much of the reservation is in use."""
    lines = []
    for name in sorted(total, key=_order):
        line = f" {_fmt(name, used.get(name, 0.0))}/{_fmt(name, total[name])} {name}"
        group = (groups or {}).get(name)
        if group and group["reserved"]:
            line += (f" ({_fmt(name, group['used'])} used of {_fmt(name, group['reserved'])} "
                     "reserved in placement groups)")
        lines.append(line)
    return lines or [" (no resources)"]


def _shape(demand: dict[str, float]) -> str:
    return repr({k: float(v) for k, v in sorted(demand.items(), key=lambda kv: _order(kv[0]))})


def demand_lines(pending: list[dict[str, float]], groups: list[Row]) -> list[str]:
    """Pending task/actor shapes and pending placement groups, each with its count."""
    tasks = Counter(_shape(d) for d in pending)
    lines = [f" {shape}: {n}+ pending tasks/actors" for shape, n in sorted(tasks.items())]
    group_shapes: Counter[str] = Counter()
    for group in groups:
        bundles = [_shape(b.get("resources", {})) for b in group.get("bundles", [])]
        strategy = str(group.get("strategy", "")).removeprefix("PLACEMENT_")
        if bundles and all(b == bundles[0] for b in bundles):
            text = f"{bundles[0]} * {len(bundles)}"
        else:
            text = ", ".join(bundles) or "{}"
        group_shapes[f"{text} ({strategy})"] += 1
    lines += [f" {shape}: {n}+ pending placement groups"
              for shape, n in sorted(group_shapes.items())]
    return lines or [" (no resource demands)"]


def render(gcs_address: str, nodes: list[Row], status: Row | None,
           pending_groups: list[Row], dashboard_url: str | None = None,
           verbose: bool = False, now: datetime.datetime | None = None) -> str:
    """The whole report: `nodes` as `_raylet.gcs_nodes` returns them, `status`
    from `rows.cluster_status` (None: the usage could not be read)."""
    now = now or datetime.datetime.now()
    alive = sorted((n for n in nodes if n["Alive"]), key=lambda n: n["StartTimeMs"])
    dead = [n for n in nodes if not n["Alive"]]
    out = [f"======== Cluster status: {now:%Y-%m-%d %H:%M:%S} ========",
           f"Comet cluster at {gcs_address}: {len(alive)} node(s) alive, {len(dead)} dead"]
    if dashboard_url:
        out.append(f"Dashboard: {dashboard_url}")
    out += ["", "Node status", _RULE, "Active:"]
    out += [f" node_{n['NodeID']} {n['NodeManagerAddress']}:{n['NodeManagerPort']}"
            for n in alive] or [" (no active nodes)"]
    out.append("Dead:")
    out += [f" node_{n['NodeID']} {n['NodeManagerAddress']}"
            + (f": {n['DeathReason']}" if n.get("DeathReason") else "") for n in dead] \
        or [" (no dead nodes)"]
    out += ["", "Resources", _RULE, "Total Usage:"]
    if status is None:
        out.append(" (unknown: the GCS did not report resource usage)")
    else:
        out += usage_lines(status["total"], status["used"], status.get("placement_groups"))
    out += ["", "Total Demands:"]
    out += demand_lines(status["pending_demands"] if status else [], pending_groups)
    if verbose and status is not None:
        for node in status["nodes"]:
            out += ["", f"Node: {node['node_id']} ({node['raylet_address']})", " Usage:"]
            out += [" " + line for line in usage_lines(node["total"], node["used"],
                                                       node.get("placement_groups"))]
            out.append(" Demands:")
            out += [" " + line for line in demand_lines(node["pending_demands"], [])]
    return "\n".join(out)


@click.command()
@click.option("--address", default="auto", show_default=True,
              help="HOST:PORT of the cluster's GCS; auto: the newest session in --temp-dir.")
@click.option("--temp-dir", default=None,
              help=f"Where to look for the newest session [default: $COMET_TEMP_DIR or "
                   f"{DEFAULT_TEMP_DIR}].")
@click.option("--verbose", "-v", is_flag=True, help="Also each node's usage and demands.")
def status(address: str, temp_dir: str | None, verbose: bool) -> None:
    """Show the cluster's nodes, resource usage and pending demands."""
    from comet import _raylet

    temp_dir = temp_dir or os.environ.get("COMET_TEMP_DIR", DEFAULT_TEMP_DIR)
    try:
        gcs_address = session.find_gcs_address(address, temp_dir)
        if not is_listening(*split_address(gcs_address)):
            raise ConnectionError(f"nothing listens at {gcs_address}: is the cluster running?")
        nodes = _raylet.gcs_nodes(gcs_address, timeout_s=5.0)
    except (ConnectionError, ValueError) as e:
        raise click.ClickException(str(e).replace("\n", " ")) from None
    usage: Row | None = None
    groups: list[Row] = []
    try:
        client = _raylet.StateClient(gcs_address)
        usage = rows.cluster_status(client.resource_usage(), [])
        groups = [rows.placement_group_row(g) for g in client.placement_groups()
                  if g.get("state") in _PENDING_GROUP_STATES]
    except Exception as e:  # noqa: BLE001 - status still shows the nodes
        click.echo(f"Warning: no resource usage ({e})", err=True)
    info = session.read_info(os.path.join(temp_dir, session.LATEST))
    dashboard_url = (info.get("dashboard_url")
                     if info.get("gcs_address") == gcs_address else None)
    click.echo(render(gcs_address, nodes, usage, groups, dashboard_url, verbose))
