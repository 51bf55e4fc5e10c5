"""Plain-text tables and JSON output for the CLI's list-style commands."""

from __future__ import annotations

import json
from typing import Any, Sequence

import click

Row = dict[str, Any]


def _cell(value: Any, width: int | None) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dict, list)):
        value = json.dumps(value, default=str)
    text = "" if value is None else str(value)
    if "\n" in text:  # a traceback: its last line names the exception
        text = next((line for line in reversed(text.splitlines()) if line.strip()), "")
    return text if width is None or len(text) <= width else text[:width - 1] + "…"


def format_table(rows: Sequence[Row], columns: Sequence[str],
                 max_width: int | None = 60) -> str:
    """Columns padded to their widest cell; cells past `max_width` are cut
    with "…" (None: never, for values a user copies, like file names); a
    cell of several lines (a task's traceback) shows its last line."""
    cells = [[_cell(r.get(c), max_width) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def echo_rows(rows: Sequence[Row], columns: Sequence[str], fmt: str, what: str) -> None:
    """Prints rows as a table (with a count line) or as a JSON list."""
    if fmt == "json":
        click.echo(json.dumps(list(rows), indent=2, default=str))
        return
    if not rows:
        click.echo(f"No {what} found.")
        return
    click.echo(format_table(rows, columns))
    click.echo(f"\n{len(rows)} {what}.")


FORMAT_OPTION = click.option("--format", "fmt", type=click.Choice(["table", "json"]),
                             default="table", show_default=True)
