"""`comet status`: the cluster's nodes and resources."""

from __future__ import annotations

import os
from typing import Any

import click

from comet._private import session
from comet._private.session import DEFAULT_TEMP_DIR
from comet.scripts.netcheck import is_listening, split_address

_HIDDEN_PREFIXES = ("node:", "node_id:")
_BYTE_RESOURCES = ("memory", "object_store_memory")


def _fmt(name: str, qty: float) -> str:
    if name in _BYTE_RESOURCES:
        for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if qty >= size:
                return f"{qty / size:.2f}{unit}"
        return f"{qty:.0f}B"
    return f"{qty:g}"


def _fmt_usage(total: dict[str, float], avail: dict[str, float] | None) -> str:
    parts = []
    for name in sorted(total, key=lambda n: (n not in ("CPU", "GPU"), n)):
        if name.startswith(_HIDDEN_PREFIXES):
            continue
        if avail is None:
            parts.append(f"{name} {_fmt(name, total[name])}")
        else:
            used = max(0.0, total[name] - avail.get(name, 0.0))
            parts.append(f"{name} {_fmt(name, used)}/{_fmt(name, total[name])}")
    return ", ".join(parts) or "-"


Usage = dict[str, tuple[dict[str, float], dict[str, float]]]


def _usage_from_state_client(state_client: Any) -> tuple[Usage, list[dict[str, float]]]:
    """({node id hex: (total, available)}, pending demand shapes) in one GCS call."""
    usage, pending = {}, []
    for row in state_client.resource_usage():
        usage[row["node_id"].lower()] = (row["total"].get("quantities", {}),
                                         row["available"].get("quantities", {}))
        pending += [d.get("quantities", {}) for d in row.get("pending_demands", [])]
    return usage, pending


def _usage(gcs_address: str) -> tuple[Usage, list[dict[str, float]]]:
    """Per-node usage and pending demands."""
    from comet import _raylet

    return _usage_from_state_client(_raylet.StateClient(gcs_address))


@click.command()
@click.option("--address", default="auto", show_default=True,
              help="HOST:PORT of the cluster's GCS; auto: the newest session in --temp-dir.")
@click.option("--temp-dir", default=None,
              help=f"Where to look for the newest session [default: $COMET_TEMP_DIR or "
                   f"{DEFAULT_TEMP_DIR}].")
def status(address: str, temp_dir: str | None) -> None:
    """Show the cluster's nodes and resources."""
    from comet import _raylet

    temp_dir = temp_dir or os.environ.get("COMET_TEMP_DIR", DEFAULT_TEMP_DIR)
    try:
        gcs_address = session.find_gcs_address(address, temp_dir)
        if not is_listening(*split_address(gcs_address)):
            raise ConnectionError(f"nothing listens at {gcs_address}: is the cluster running?")
        nodes = _raylet.gcs_nodes(gcs_address, timeout_s=5.0)
    except (ConnectionError, ValueError) as e:
        raise click.ClickException(str(e).replace("\n", " ")) from None
    alive = [n for n in nodes if n["Alive"]]
    usage: Usage = {}
    pending: list[dict[str, float]] = []
    if alive:
        try:
            usage, pending = _usage(gcs_address)
        except Exception as e:  # noqa: BLE001 - status still shows the node table
            click.echo(f"Warning: no resource usage ({e})", err=True)
    click.echo(f"Comet cluster at {gcs_address}: {len(alive)} node(s) alive, "
               f"{len(nodes) - len(alive)} dead")
    info = session.read_info(os.path.join(temp_dir, session.LATEST))
    if info.get("dashboard_url") and info.get("gcs_address") == gcs_address:
        click.echo(f"Dashboard: {info['dashboard_url']}")
    _print_nodes(nodes, usage)
    _print_totals(alive, usage)
    _print_pending(pending)


def _node_usage(node: dict[str, Any], usage: Usage) -> tuple[dict[str, float],
                                                             dict[str, float] | None]:
    return usage.get(node["NodeID"].lower(), (node["Resources"], None))


def _print_nodes(nodes: list[dict[str, Any]], usage: Usage) -> None:
    click.echo("\nNodes (resources used/total):")
    for n in sorted(nodes, key=lambda n: (not n["Alive"], n["StartTimeMs"])):
        where = f"{n['NodeManagerAddress']}:{n['NodeManagerPort']}"
        if n["Alive"]:
            click.echo(f"  {n['NodeID']}  {where}  ALIVE  {_fmt_usage(*_node_usage(n, usage))}")
        else:
            reason = f" ({n['DeathReason']})" if n.get("DeathReason") else ""
            click.echo(f"  {n['NodeID']}  {where}  DEAD{reason}")


def _print_totals(alive: list[dict[str, Any]], usage: Usage) -> None:
    totals: dict[str, float] = {}
    avails: dict[str, float] = {}
    for n in alive:
        total, avail = _node_usage(n, usage)
        for name, qty in total.items():
            totals[name] = totals.get(name, 0.0) + qty
            avails[name] = avails.get(name, 0.0) + (qty if avail is None else avail.get(name, 0.0))
    click.echo("\nCluster (used/total):")
    click.echo(f"  {_fmt_usage(totals, avails if usage else None)}")


def _print_pending(pending: list[dict[str, float]]) -> None:
    """Each demand shape nobody could place yet, with how many wait."""
    click.echo("\nPending demands:")
    counts: dict[str, int] = {}
    for demand in pending:
        shape = _fmt_usage(demand, None)
        counts[shape] = counts.get(shape, 0) + 1
    for shape, n in sorted(counts.items()):
        click.echo(f"  {shape}: {n}")
    if not counts:
        click.echo("  (none)")
