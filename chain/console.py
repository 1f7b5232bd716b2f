"""What every depa command line shares: the consoles, and one line on stderr for any error."""

from __future__ import annotations

import sys

import click
import typer
from rich.console import Console

from schemas.errors import DepaError

# emoji=False: ':key:' inside a did:key would otherwise render as an emoji.
out = Console(emoji=False, soft_wrap=True)
err = Console(stderr=True, emoji=False, soft_wrap=True)


def run(app: typer.Typer, *, error_exit: int = 1) -> None:
    """Run a typer app; a DepaError prints one line and exits with error_exit, usage errors exit 2."""
    try:
        code = app(standalone_mode=False)
    except DepaError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(error_exit)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
