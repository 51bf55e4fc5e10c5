"""`comet status`: the cluster's nodes and resources."""

from __future__ import annotations

import os
from typing import Any

import click

from comet._private import session
from comet._private.session import DEFAULT_TEMP_DIR

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


def _usage_by_node() -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    """{node id hex: (total, available)} from the GCS's resource view, through a
    driver connection (each node's totals carry its "node_id:HEX" resource)."""
    from comet._private import worker

    out = {}
    for total, avail in worker._resource_views():
        ids = [n[len("node_id:"):] for n in total if n.startswith("node_id:")]
        if len(ids) == 1:
            out[ids[0]] = (total, avail)
    return out


def _connect_for_usage(gcs_address: str) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    import comet

    comet.init(address=gcs_address, log_to_driver=False)
    try:
        return _usage_by_node()
    finally:
        comet.shutdown()


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
        nodes = _raylet.gcs_nodes(gcs_address, timeout_s=5.0)
    except ConnectionError as e:
        raise click.ClickException(str(e).replace("\n", " ")) from None
    alive = [n for n in nodes if n["Alive"]]
    usage: dict[str, Any] = {}
    if alive:
        try:
            usage = _connect_for_usage(gcs_address)
        except Exception as e:  # noqa: BLE001 - status still shows the node table
            click.echo(f"Warning: no resource usage ({e})", err=True)
    click.echo(f"Comet cluster at {gcs_address}: {len(alive)} node(s) alive, "
               f"{len(nodes) - len(alive)} dead")
    info = session.read_info(os.path.join(temp_dir, session.LATEST))
    if info.get("dashboard_url") and info.get("gcs_address") == gcs_address:
        click.echo(f"Dashboard: {info['dashboard_url']}")
    click.echo("\nNodes (resources used/total):")
    for n in sorted(nodes, key=lambda n: (not n["Alive"], n["StartTimeMs"])):
        where = f"{n['NodeManagerAddress']}:{n['NodeManagerPort']}"
        if n["Alive"]:
            total, avail = usage.get(n["NodeID"], (n["Resources"], None))
            click.echo(f"  {n['NodeID']}  {where}  ALIVE  {_fmt_usage(total, avail)}")
        else:
            reason = f" ({n['DeathReason']})" if n.get("DeathReason") else ""
            click.echo(f"  {n['NodeID']}  {where}  DEAD{reason}")
    totals: dict[str, float] = {}
    avails: dict[str, float] = {}
    for n in alive:
        total, avail = usage.get(n["NodeID"], (n["Resources"], None))
        for name, qty in total.items():
            totals[name] = totals.get(name, 0.0) + qty
            avails[name] = avails.get(name, 0.0) + (qty if avail is None else avail.get(name, 0.0))
    click.echo("\nCluster (used/total):")
    click.echo(f"  {_fmt_usage(totals, avails if usage else None)}")
    click.echo("\nPending demands: (not reported by the GCS client yet)")
