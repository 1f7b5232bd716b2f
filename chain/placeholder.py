"""The command-line tools whose work belongs to later issues: they exist, print help and their version."""

from __future__ import annotations

import typer


def placeholder_app(tool: str, purpose: str, arrives_with: str) -> typer.Typer:
    app = typer.Typer(help=f"{tool}: {purpose} Its commands arrive with {arrives_with}.", no_args_is_help=True)

    @app.callback()
    def _group() -> None:
        pass

    @app.command()
    def version() -> None:
        """Print the version."""
        typer.echo(f"{tool} 0.1.0")

    return app
