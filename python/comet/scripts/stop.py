"""`comet stop`: stops this machine's Comet processes."""

from __future__ import annotations

import click

from comet._private import session
from comet.scripts import processes


@click.command()
@click.option("--force", "-f", is_flag=True, help="SIGKILL at once instead of SIGTERM first.")
@click.option("--grace-period", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Seconds between SIGTERM and SIGKILL.")
@click.option("--temp-dir", "temp_dirs", multiple=True,
              help="Only stop the sessions under this directory (repeatable) "
                   "[default: every session of this user].")
def stop(force: bool, grace_period: float, temp_dirs: tuple[str, ...]) -> None:
    """Stop Comet's daemons, workers and dashboard on this machine."""
    count, sessions = processes.stop(list(temp_dirs) or None, force, grace_period)
    for session_dir in sessions:
        session.remove_runtime_files(session_dir)
    click.echo(f"Stopped {count} Comet process{'' if count == 1 else 'es'}."
               if count else "No Comet processes were running.")
