"""`depa-ccr scenario`: scenarios are above the agent, so they plug into its command line by entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chain.console import err, out, read_file

app = typer.Typer(help="Scaffold scenarios of your own.", no_args_is_help=True)


@app.command("new")
def new(
    spec: Annotated[Path, typer.Argument(help="The scenario spec (JSON): docs/build-your-own-scenario.md.")],
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the scenario's folder.")] = Path("."),
) -> None:
    """Write a scenario folder that runs at once (`make demo SCENARIO=FOLDER`); print the folder."""
    from scenarios.scaffold import parse_spec, scaffold

    folder = scaffold(parse_spec(read_file(spec), str(spec)), directory)
    err.print(f"scenario written to {folder}; run it with: make demo SCENARIO={folder}", highlight=False)
    out.print(str(folder.resolve()), highlight=False, markup=False)
