"""`comet job ...`: submit and manage jobs through the dashboard's job server."""

from __future__ import annotations

import asyncio
import sys
import time

import click

from comet.job_submission import JobStatus, JobSubmissionClient
from comet.scripts.job_options import ADDRESS_OPTION, _client, _json_option, _run
from comet.scripts.job_schedule import schedule
from comet.scripts.table import FORMAT_OPTION, echo_rows


def _stream_logs(client: JobSubmissionClient, job_id: str) -> None:
    async def pump() -> None:
        async for text in client.tail_job_logs(job_id):
            sys.stdout.write(text)
            sys.stdout.flush()

    try:
        asyncio.run(pump())
    except (RuntimeError, ConnectionError, OSError) as e:
        raise click.ClickException(f"following the logs of {job_id} failed: {e}") from None


def _wait_terminal(client: JobSubmissionClient, job_id: str, timeout_s: float = 10) -> JobStatus:
    """The log stream ends when the job does; its final status is written just before."""
    deadline = time.monotonic() + timeout_s
    status = _run(client.get_job_status, job_id)
    while not status.is_terminal() and time.monotonic() < deadline:
        time.sleep(0.1)
        status = _run(client.get_job_status, job_id)
    return status


@click.group()
def job() -> None:
    """Submit, inspect and stop jobs (through the dashboard)."""


@job.command(context_settings={"ignore_unknown_options": True})
@ADDRESS_OPTION
@click.option("--working-dir", help="A directory copied for the job and used as its cwd.")
@click.option("--submission-id", help="The job's id [default: generated].")
@click.option("--runtime-env-json", help='e.g. \'{"env_vars": {"K": "V"}}\'.')
@click.option("--metadata-json", help='e.g. \'{"owner": "me"}\'.')
@click.option("--no-wait", is_flag=True, help="Return after submitting; do not stream logs.")
@click.argument("entrypoint", nargs=-1, required=True, type=click.UNPROCESSED)
def submit(address: str | None, working_dir: str | None, submission_id: str | None,
           runtime_env_json: str | None, metadata_json: str | None, no_wait: bool,
           entrypoint: tuple[str, ...]) -> None:
    """Submit ENTRYPOINT (a shell command, after --) as a job and stream its logs.

    Exits 0 when the job succeeds, 1 otherwise."""
    runtime_env = _json_option(runtime_env_json, "--runtime-env-json")
    if working_dir:
        runtime_env["working_dir"] = working_dir
    client = _client(address)
    job_id = _run(lambda: client.submit_job(
        entrypoint=" ".join(entrypoint), runtime_env=runtime_env,
        metadata=_json_option(metadata_json, "--metadata-json"), submission_id=submission_id))
    click.echo(f"Job '{job_id}' submitted successfully.", err=True)
    if no_wait:
        click.echo(f"Query its status with `comet job status {job_id}`, its logs with "
                   f"`comet job logs {job_id}`.", err=True)
        return
    _stream_logs(client, job_id)
    status = _wait_terminal(client, job_id)
    info = _run(client.get_job_info, job_id)
    click.echo(f"Job '{job_id}' {status.value.lower()}: {info.message}", err=True)
    sys.exit(0 if status == JobStatus.SUCCEEDED else 1)


@job.command()
@ADDRESS_OPTION
@click.argument("job_id")
def status(address: str | None, job_id: str) -> None:
    """Print a job's status and message."""
    info = _run(_client(address).get_job_info, job_id)
    click.echo(f"Status for job '{job_id}': {info.status.value}")
    if info.message:
        click.echo(info.message)


@job.command()
@ADDRESS_OPTION
@click.option("--follow", "-f", is_flag=True, help="Keep printing new output until the job ends.")
@click.argument("job_id")
def logs(address: str | None, follow: bool, job_id: str) -> None:
    """Print a job's logs."""
    client = _client(address)
    if follow:
        _run(client.get_job_info, job_id)  # a clean error for an unknown id
        _stream_logs(client, job_id)
    else:
        click.echo(_run(client.get_job_logs, job_id), nl=False)


@job.command()
@ADDRESS_OPTION
@click.argument("job_id")
def stop(address: str | None, job_id: str) -> None:
    """Stop a running job (SIGTERM to its processes, SIGKILL after a grace period)."""
    if _run(_client(address).stop_job, job_id):
        click.echo(f"Job '{job_id}' is stopping.")
    else:
        click.echo(f"Job '{job_id}' had already ended.")


@job.command()
@ADDRESS_OPTION
@click.argument("job_id")
def delete(address: str | None, job_id: str) -> None:
    """Delete a finished job's record (its log file stays)."""
    _run(_client(address).delete_job, job_id)
    click.echo(f"Job '{job_id}' deleted.")


@job.command(name="list")
@ADDRESS_OPTION
@FORMAT_OPTION
def list_jobs(address: str | None, fmt: str) -> None:
    """List submitted jobs and drivers."""
    jobs = [j.to_json() for j in _run(_client(address).list_jobs)]
    echo_rows(jobs, ["submission_id", "job_id", "type", "status", "entrypoint", "message"],
              fmt, "jobs")


job.add_command(schedule)
