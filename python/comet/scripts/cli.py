"""The `comet` command line."""

from __future__ import annotations

import click

from comet import __version__


@click.group()
@click.version_option(version=__version__, prog_name="comet")
def main() -> None:
    """Comet: a distributed runtime for Python tasks and actors."""


if __name__ == "__main__":
    main()
