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
    "tasks": (state.list_tasks, ["task_id", "name", "state", "job_id", "node_id",
                                 "worker_id", "actor_id"]),
    "objects": (state.list_objects, ["object_id", "size", "owner", "node_id"]),
    "jobs": (state.list_jobs, ["job_id", "submission_id", "type", "status", "entrypoint"]),
    "workers": (state.list_workers, ["worker_id", "node_id", "pid", "is_idle", "job_id"]),
    "placement-groups": (state.list_placement_groups,
                         ["placement_group_id", "name", "strategy", "state"]),
}


def call_state(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Runs a state query; unreachable clusters and missing data become one-line errors."""
    try:
        return fn(*args, **kwargs)
    except state.StateDataUnavailable as e:
        raise click.ClickException(str(e)) from None
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
def summary_objects(address: str | None) -> None:
    """Objects by owner (needs an object table in the GCS)."""
    objects = call_state(state.list_objects, address=address)
    click.echo(f"{len(objects)} objects; by node: {rows.count_by(objects, 'node_id')}")


@click.command()
@GCS_ADDRESS_OPTION
def memory(address: str | None) -> None:
    """Objects in the cluster and the object store usage of every node."""
    status = call_state(state.cluster_status, address)
    click.echo("Object store usage per node:")
    for node in status["nodes"]:
        used = node["used"].get("object_store_memory", 0.0)
        total = node["total"].get("object_store_memory", 0.0)
        click.echo(f"  {node['node_id']}  {used / 2**20:.1f} MiB used of "
                   f"{total / 2**20:.1f} MiB")
    try:
        objects = state.list_objects(address=address)
    except state.StateDataUnavailable as e:
        click.echo(f"\nObject references: none listed, {e}.")
        return
    echo_rows(objects, _LISTS["objects"][1], "table", "objects")
