"""`depa-keys`: the data provider's key broker."""

import typer

app = typer.Typer(
    help="depa-keys: release dataset keys only to attested clean rooms under active contracts. "
    "Its serve command arrives with the key-broker issue.",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    pass


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo("depa-keys 0.1.0")
