"""What every ``isogw`` command module shares: the stderr console, the usage-error
exit and the ``--format`` choice (kept apart from :mod:`gateway.cli`, which imports the
command modules)."""

from __future__ import annotations

from enum import StrEnum

import typer
from rich.console import Console

__all__ = ["OutputFormat", "err", "fail"]

err = Console(stderr=True)


class OutputFormat(StrEnum):
    json = "json"
    text = "text"


def fail(message: str, code: int) -> typer.Exit:
    """Print ``message`` on stderr and return the exit to raise with ``code``."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)
