"""What every `comet job ...` command shares: the --address option, the SDK
client, JSON options, and client errors as one-line click errors."""

from __future__ import annotations

import json
from typing import Any

import click

from comet.job_submission import JobSubmissionClient

ADDRESS_OPTION = click.option(
    "--address", default=None,
    help="Dashboard URL [default: $COMET_DASHBOARD_ADDRESS, else the running session's, "
         "else http://127.0.0.1:8265].")


def _client(address: str | None) -> JobSubmissionClient:
    """The SDK client; it finds the cluster token itself (no token: a one-line error)."""
    return _run(JobSubmissionClient, address)


def _json_option(text: str | None, name: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as e:
        raise click.ClickException(f"{name}: not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise click.ClickException(f"{name}: expected a JSON object")
    return value


def _run(fn: Any, *args: Any) -> Any:
    """Calls the client; its errors become one-line click errors."""
    try:
        return fn(*args)
    except (RuntimeError, ConnectionError) as e:
        raise click.ClickException(str(e)) from None
