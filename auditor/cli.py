"""`depa-audit`: independent verification of a depa-chain ledger."""

import typer

app = typer.Typer(
    help="depa-audit: verify a depa-chain ledger end to end, independently. The verify command "
    "arrives with the auditor issue; until then use `depa-chain receipt verify`.",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    pass


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo("depa-audit 0.1.0")
