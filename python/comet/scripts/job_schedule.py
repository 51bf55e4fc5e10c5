"""`comet job schedule ...`: cron schedules of jobs in the job server."""

from __future__ import annotations

from typing import Any

import click

from comet.scripts.job_options import ADDRESS_OPTION, _client, _json_option
from comet.scripts.table import FORMAT_OPTION, echo_rows


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Calls the client; its errors (bad input included) become one-line errors."""
    try:
        return fn(*args, **kwargs)
    except (RuntimeError, ConnectionError, ValueError, TypeError) as e:
        raise click.ClickException(str(e)) from None


def _row(s: dict[str, Any]) -> dict[str, Any]:
    return {**s, "state": "paused" if s.get("paused") else "active",
            "next_run": s.get("next_run_time_iso") or "-"}


_COLUMNS = ["name", "cron", "timezone", "state", "next_run", "misfire_policy",
            "concurrency_policy", "entrypoint"]


@click.group()
def schedule() -> None:
    """Run jobs on cron schedules (misfire, overlap and start-deadline policies)."""


@schedule.command(context_settings={"ignore_unknown_options": True})
@ADDRESS_OPTION
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone.")
@click.option("--misfire-policy", default="fire_once", show_default=True,
              type=click.Choice(["fire_once", "skip", "catch_up"]))
@click.option("--misfire-threshold-s", default=60.0, show_default=True, type=float)
@click.option("--max-catch-up", default=10, show_default=True, type=int)
@click.option("--concurrency-policy", default="allow", show_default=True,
              type=click.Choice(["allow", "forbid", "replace"]))
@click.option("--start-deadline-s", default=None, type=float,
              help="A run whose job has not started this long after its time is missed.")
@click.option("--jitter-s", default=0.0, show_default=True, type=float)
@click.option("--working-dir", help="A directory copied for each run and used as its cwd.")
@click.option("--runtime-env-json", help='e.g. \'{"env_vars": {"K": "V"}}\'.')
@click.option("--metadata-json", help='e.g. \'{"owner": "me"}\'.')
@click.option("--paused", is_flag=True, help="Create it paused.")
@click.argument("name")
@click.argument("cron")
@click.argument("entrypoint", nargs=-1, required=True, type=click.UNPROCESSED)
def create(address: str | None, timezone: str, misfire_policy: str,
           misfire_threshold_s: float, max_catch_up: int, concurrency_policy: str,
           start_deadline_s: float | None, jitter_s: float, working_dir: str | None,
           runtime_env_json: str | None, metadata_json: str | None, paused: bool,
           name: str, cron: str, entrypoint: tuple[str, ...]) -> None:
    """Create schedule NAME running ENTRYPOINT (after --) at each time of CRON
    (quoted: 5 fields, or 6 with seconds first)."""
    runtime_env = _json_option(runtime_env_json, "--runtime-env-json")
    if working_dir:
        runtime_env["working_dir"] = working_dir
    created = _call(_client(address).create_schedule, name, cron, " ".join(entrypoint),
                    timezone=timezone, misfire_policy=misfire_policy,
                    misfire_threshold_s=misfire_threshold_s, max_catch_up=max_catch_up,
                    concurrency_policy=concurrency_policy, start_deadline_s=start_deadline_s,
                    jitter_s=jitter_s, runtime_env=runtime_env,
                    metadata=_json_option(metadata_json, "--metadata-json"), paused=paused)
    click.echo(f"Schedule '{name}' created; next run: {_row(created)['next_run']}.")


@schedule.command(name="list")
@ADDRESS_OPTION
@FORMAT_OPTION
def list_schedules(address: str | None, fmt: str) -> None:
    """List the schedules with their next run time."""
    rows = [_row(s) for s in _call(_client(address).list_schedules)]
    echo_rows(rows, _COLUMNS, fmt, "schedules")


@schedule.command()
@ADDRESS_OPTION
@FORMAT_OPTION
@click.argument("name")
def get(address: str | None, fmt: str, name: str) -> None:
    """Show one schedule."""
    echo_rows([_row(_call(_client(address).get_schedule, name))], _COLUMNS, fmt, "schedules")


@schedule.command()
@ADDRESS_OPTION
@click.argument("name")
def pause(address: str | None, name: str) -> None:
    """Pause a schedule (the times that pass meanwhile never run)."""
    _call(_client(address).pause_schedule, name)
    click.echo(f"Schedule '{name}' paused.")


@schedule.command()
@ADDRESS_OPTION
@click.argument("name")
def resume(address: str | None, name: str) -> None:
    """Resume a paused schedule."""
    resumed = _call(_client(address).resume_schedule, name)
    click.echo(f"Schedule '{name}' resumed; next run: {_row(resumed)['next_run']}.")


@schedule.command()
@ADDRESS_OPTION
@click.argument("name")
def delete(address: str | None, name: str) -> None:
    """Delete a schedule and its run records (the jobs it started stay)."""
    if _call(_client(address).delete_schedule, name):
        click.echo(f"Schedule '{name}' deleted.")
    else:
        raise click.ClickException(f"no schedule named '{name}'")


@schedule.command()
@ADDRESS_OPTION
@FORMAT_OPTION
@click.option("--limit", default=20, show_default=True, type=int)
@click.argument("name")
def runs(address: str | None, fmt: str, limit: int, name: str) -> None:
    """List a schedule's runs, newest first."""
    rows = _call(_client(address).list_schedule_runs, name, limit)
    echo_rows(rows, ["scheduled_time_iso", "status", "submission_id", "job_status", "reason"],
              fmt, "runs")
