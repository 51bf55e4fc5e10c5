"""`comet logs` (the nodes' log files) and `comet timeline` (a Chrome trace of
the tasks), read from the GCS and the nodes' session dirs on this machine."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import click

from comet.scripts.state_cli import GCS_ADDRESS_OPTION, call_state
from comet.scripts.table import format_table
from comet.util import state
from comet.util.state import logs as log_files
from comet.util.state import rows


def _nodes(address: str | None, node_id: str | None) -> list[dict[str, Any]]:
    nodes = call_state(state.list_nodes, address=address)
    if node_id:
        nodes = [n for n in nodes if n["node_id"].startswith(node_id.lower())]
        if not nodes:
            raise click.ClickException(f"no node {node_id} in the cluster")
    return nodes


def _print_file(path: str, tail: int | None, header: str | None = None) -> None:
    try:
        text, _ = log_files.read_log_file(path, tail)
    except OSError as e:
        raise click.ClickException(f"cannot read {path}: {e.strerror}") from None
    if header:
        click.echo(f"==> {header} <==")
    click.echo(text, nl=not text or not text.endswith("\n"))


def _worker_logs(address: str | None, what: str, node_id: str, worker_id: str,
                 pid: int | None, tail: int | None) -> None:
    """Prints the log files of the worker that ran an actor or a task."""
    if not worker_id or not node_id:
        raise click.ClickException(f"{what} has not run on a worker (yet)")
    node = _nodes(address, node_id)[0]
    names = log_files.worker_log_names(worker_id, pid)
    found = [n for n in names
             if os.path.isfile(log_files.log_path(node["session_dir"], n))]
    if not found:
        raise click.ClickException(f"no log files of {what} (worker "
                                   f"{worker_id}) on node {node['node_id']}")
    for name in found:
        _print_file(log_files.log_path(node["session_dir"], name), tail, name)


def _one(items: list[dict[str, Any]], key: str, prefix: str, what: str) -> dict[str, Any]:
    found = [i for i in items if i[key].startswith(prefix.lower())]
    ids = {i[key] for i in found}
    if len(ids) != 1:
        raise click.ClickException(f"no {what} {prefix}" if not found
                                   else f"{what} id {prefix} is ambiguous")
    return found[0]


def _actor_logs(address: str | None, actor_id: str, tail: int | None) -> None:
    actor = _one(call_state(state.list_actors, address=address), "actor_id", actor_id, "actor")
    _worker_logs(address, f"actor {actor_id}", actor["node_id"], actor["worker_id"],
                 actor.get("pid"), tail)


def _task_logs(address: str | None, task_id: str, tail: int | None) -> None:
    # Newest attempt first: the one whose logs matter.
    task = _one(call_state(state.list_tasks, address=address), "task_id", task_id, "task")
    _worker_logs(address, f"task {task_id}", task.get("node_id", ""), task.get("worker_id", ""),
                 task.get("worker_pid") or None, tail)


@click.command()
@GCS_ADDRESS_OPTION
@click.option("--node-id", help="The node (a unique id prefix is enough).")
@click.option("--actor-id", help="Print the log files of this actor's worker.")
@click.option("--task-id", help="Print the log files of the worker that ran this task.")
@click.option("--tail", type=click.IntRange(min=0), default=None,
              help="Only the last N lines of each file.")
@click.argument("filename", required=False)
def logs(address: str | None, node_id: str | None, actor_id: str | None, task_id: str | None,
         tail: int | None, filename: str | None) -> None:
    """List the nodes' log files, or print FILENAME (or an actor's or a task's logs)."""
    if actor_id:
        _actor_logs(address, actor_id, tail)
        return
    if task_id:
        _task_logs(address, task_id, tail)
        return
    nodes = _nodes(address, node_id)
    if not filename:
        for node in nodes:
            files = log_files.list_log_files(node.get("session_dir", ""))
            click.echo(f"Node {node['node_id']} ({node['state']}), {node.get('session_dir')}/logs:")
            click.echo(format_table(files, ["name", "size"], max_width=None)
                       if files else "  (no log files)")
        return
    try:
        paths = [(n, log_files.log_path(n.get("session_dir", ""), filename)) for n in nodes]
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    paths = list({os.path.realpath(p): (n, p) for n, p in paths if os.path.isfile(p)}.values())
    if not paths:
        raise click.ClickException(f"no log file {filename!r} on "
                                   + (f"node {node_id}" if node_id else "any node"))
    if len(paths) > 1:  # prefer live nodes' files
        paths = [(n, p) for n, p in paths if n.get("state") == "ALIVE"] or paths
    if len(paths) > 1:
        ids = ", ".join(n["node_id"][:12] for n, _ in paths)
        raise click.ClickException(f"{filename!r} exists on several nodes ({ids}); "
                                   "pick one with --node-id")
    _print_file(paths[0][1], tail)


@click.command()
@GCS_ADDRESS_OPTION
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Where to write the trace [default: ./comet-timeline.json].")
def timeline(address: str | None, output: str | None) -> None:
    """Write the tasks as a Chrome trace (open it in chrome://tracing or Perfetto)."""
    tasks = call_state(state.list_tasks, address=address)
    events = rows.timeline_events(tasks, now_ms=int(time.time() * 1000))
    path = output or "comet-timeline.json"
    with open(path, "w") as f:
        json.dump(events, f)
    waiting = len(tasks) - len(events)
    click.echo(f"Wrote {len(events)} task events to {path}"
               + (f" ({waiting} task attempts not started yet)." if waiting else "."))
