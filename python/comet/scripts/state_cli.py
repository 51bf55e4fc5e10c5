"""`comet list`, `comet summary` and `comet memory`: the cluster's state read
from the GCS directly (comet.util.state), not through the dashboard."""

from __future__ import annotations

import json
from typing import Any, Callable

import click

from comet.scripts.table import FORMAT_OPTION, echo_rows, format_table
from comet.util import state
from comet.util.state import rows

GCS_ADDRESS_OPTION = click.option(
    "--address", default=None,
    help="The GCS address HOST:PORT [default: $COMET_ADDRESS, else the newest session's].")

# resource -> (list function, table columns)
_LISTS: dict[str, tuple[Callable[..., list[dict]], list[str]]] = {
    "nodes": (state.list_nodes, ["node_id", "state", "raylet_address", "node_name",
                                 "total_resources"]),
    "actors": (state.list_actors, ["actor_id", "class_name", "name", "state", "job_id",
                                   "node_id", "pid"]),
    "tasks": (state.list_tasks, ["task_id", "attempt", "name", "type", "state", "job_id",
                                 "node_id", "worker_pid", "actor_id", "error"]),
    "objects": (state.list_objects, ["object_id", "size", "ownership", "reference_type",
                                     "location", "node_id", "type", "pid", "ip"]),
    "jobs": (state.list_jobs, ["job_id", "submission_id", "type", "status", "entrypoint"]),
    "workers": (state.list_workers, ["worker_id", "node_id", "pid", "is_idle", "job_id"]),
    "placement-groups": (state.list_placement_groups,
                         ["placement_group_id", "name", "strategy", "state"]),
}


def call_state(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Runs a state query; an unreachable cluster becomes a one-line error."""
    try:
        return fn(*args, **kwargs)
    except ConnectionError as e:
        raise click.ClickException(str(e).splitlines()[0]) from None


@click.command(name="list")
@click.argument("resource", type=click.Choice(sorted(_LISTS)))
@GCS_ADDRESS_OPTION
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="Keep rows whose field KEY equals VALUE (repeatable).")
@click.option("--limit", type=click.IntRange(min=0), default=None)
@FORMAT_OPTION
def list_command(resource: str, address: str | None, filters: tuple[str, ...],
                 limit: int | None, fmt: str) -> None:
    """List the cluster's nodes, actors, tasks, objects, jobs, workers or placement groups."""
    try:
        parsed = rows.parse_filters(filters)
    except ValueError as e:
        raise click.ClickException(f"--filter: {e}") from None
    fn, columns = _LISTS[resource]
    items = call_state(fn, address=address, filters=parsed, limit=limit)
    echo_rows(items, columns, fmt, resource.replace("-", " "))


@click.group()
def summary() -> None:
    """Summaries of tasks, actors or objects."""


def _echo_summary(data: dict[str, Any], groups: str, fmt: str, what: str) -> None:
    """Prints a summarize_* result: totals by state, then a row per group."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    by_state = ", ".join(f"{k} {v}" for k, v in sorted(data["by_state"].items()))
    click.echo(f"{data['total']} {what}; by state: {by_state or '-'}")
    key = groups.removeprefix("by_")
    table = [{key: name, **counts} for name, counts in data[groups].items()]
    if table:
        click.echo("\n" + format_table(table, [key, *sorted(data["by_state"])]))


@summary.command(name="tasks")
@GCS_ADDRESS_OPTION
@FORMAT_OPTION
def summary_tasks(address: str | None, fmt: str) -> None:
    """Tasks by function name and state."""
    _echo_summary(call_state(state.summarize_tasks, address), "by_name", fmt, "tasks")


@summary.command(name="actors")
@GCS_ADDRESS_OPTION
@FORMAT_OPTION
def summary_actors(address: str | None, fmt: str) -> None:
    """Actors by class and state."""
    _echo_summary(call_state(state.summarize_actors, address), "by_class", fmt, "actors")


@summary.command(name="objects")
@GCS_ADDRESS_OPTION
@FORMAT_OPTION
def summary_objects(address: str | None, fmt: str) -> None:
    """Object references by reference type, location and holder."""
    data = rows.summarize_objects(call_state(state.list_objects, address=address))
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"{data['total']} references to {data['objects']} objects "
               f"({_bytes(data['total_bytes'])})")
    for title, key in [("by reference type", "by_reference_type"),
                       ("by location", "by_location")]:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(data[key].items()))
        click.echo(f"  {title}: {counts or '-'}")
    kinds = sorted({k for c in data["by_holder"].values() for k in c})
    table = [{"holder": name, **counts} for name, counts in data["by_holder"].items()]
    if table:
        click.echo("\n" + format_table(table, ["holder", *kinds]))


def _bytes(n: float | None) -> str:
    if n is None or n < 0:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


_MEMORY_COLUMNS = ["object_id", "size", "ownership", "reference_type", "location", "node_id"]
_STORE_COLUMNS = ["node_id", "used", "capacity", "full", "objects", "spilled_on_disk",
                  "spilled_total", "restored_total", "pulled_total", "evictions"]


def _store_table(stores: list[dict[str, Any]]) -> str:
    table = []
    for s in stores:
        cap = s["capacity_bytes"]
        table.append({"node_id": s["node_id"], "used": _bytes(s["used_bytes"]),
                      "capacity": _bytes(cap),
                      "full": f"{100 * s['used_bytes'] / cap:.1f}%" if cap else "-",
                      "objects": s["num_objects"],
                      "spilled_on_disk": f"{_bytes(s['spilled_bytes_on_disk'])} "
                                         f"({s['num_spilled_objects']})",
                      "spilled_total": _bytes(s["bytes_spilled_total"]),
                      "restored_total": _bytes(s["bytes_restored_total"]),
                      "pulled_total": _bytes(s["bytes_pulled_total"]),
                      "evictions": s["num_evictions"]})
    return format_table(table, _STORE_COLUMNS, max_width=80)


@click.command()
@GCS_ADDRESS_OPTION
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=2.0,
              show_default=True, help="Seconds to wait for each worker and driver.")
@click.option("--all", "show_all", is_flag=True,
              help="Also list workers and drivers that hold no references.")
@FORMAT_OPTION
def memory(address: str | None, timeout_s: float, show_all: bool, fmt: str) -> None:
    """Object references of every worker and driver, and each node's object store
    (like `ray memory`)."""
    info = call_state(state.memory_info, address, timeout_s)
    if fmt == "json":
        click.echo(json.dumps(info, indent=2, default=str))
        return
    by_holder: dict[str, list[dict[str, Any]]] = {}
    for obj in info["objects"]:
        by_holder.setdefault(obj["worker_id"], []).append(obj)
    click.echo("======== Object references ========")
    shown = 0
    for holder in sorted(info["holders"], key=lambda h: (h["type"] != "DRIVER", h["pid"] or 0)):
        refs = by_holder.get(holder["worker_id"], [])
        if not refs and not show_all:
            continue
        shown += 1
        job = f", job {holder['job_id']}" if holder["job_id"] else ""
        click.echo(f"\n--- {holder['type'].capitalize()} pid {holder['pid']} at "
                   f"{holder['ip']}:{holder['port']} (node {holder['node_id'][:12]}{job}): "
                   f"{len(refs)} references ---")
        if refs:
            table = [{**r, "size": _bytes(r["size"]) if r["size"] >= 0 else "-",
                      "node_id": r["node_id"][:12] or "-"} for r in refs]
            click.echo(format_table(table, _MEMORY_COLUMNS))
    if not shown:
        click.echo(f"No references held by the {len(info['holders'])} workers and drivers.")
    total = sum(max(0, r["size"]) for r in {r["object_id"]: r for r in info["objects"]}.values())
    click.echo(f"\n{len(info['objects'])} references to "
               f"{len({r['object_id'] for r in info['objects']})} objects ({_bytes(total)}) "
               f"in {len(info['holders'])} workers and drivers.")
    click.echo("\n======== Object store per node ========")
    click.echo(_store_table(info["nodes"]) if info["nodes"] else "No node answered.")
    for skip in info["skipped"]:
        click.echo(f"\nNote: skipped {skip['type'].lower()} {skip['address']}"
                   + (f" (pid {skip['pid']})" if skip.get("pid") else "")
                   + f": {skip['error']}")
