"""The `comet` command line: start, stop and inspect a cluster."""

from __future__ import annotations

import click

from comet import __version__
from comet.scripts.job import job
from comet.scripts.logs_cli import logs, timeline
from comet.scripts.start import start
from comet.scripts.state_cli import list_command, memory, summary
from comet.scripts.status import status
from comet.scripts.stop import stop
from comet.scripts.tls import tls


@click.group()
@click.version_option(version=__version__, prog_name="comet")
def main() -> None:
    """Comet: a distributed runtime for Python tasks and actors."""


main.add_command(start)
main.add_command(stop)
main.add_command(status)
main.add_command(job)
main.add_command(list_command)
main.add_command(summary)
main.add_command(memory)
main.add_command(logs)
main.add_command(timeline)
main.add_command(tls)


if __name__ == "__main__":
    main()
