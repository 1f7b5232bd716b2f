"""`depa-ccr`: the clean-room agent (attest, fetch keys, train, post receipts)."""

import typer

app = typer.Typer(
    help="depa-ccr: the agent inside a confidential clean room. Its run command arrives with the "
    "clean-room issue; this command exists so deployments can wire it now.",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    pass


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo("depa-ccr 0.1.0")
