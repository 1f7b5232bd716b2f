"""What every depa command line shares: the consoles, and one line on stderr for any error."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text
from rich.tree import Tree
from typer.exceptions import TyperException

from schemas.errors import DepaError, MalformedInput
from schemas.lineage import Graph

# emoji=False: ':key:' inside a did:key would otherwise render as an emoji. Piped or redirected, output keeps
# every character: rich would otherwise fit it to 80 columns and cut numbers and DIDs.
PIPE_WIDTH = 10_000
out = Console(emoji=False, soft_wrap=True, width=None if sys.stdout.isatty() else PIPE_WIDTH)
err = Console(stderr=True, emoji=False, soft_wrap=True, width=None if sys.stderr.isatty() else PIPE_WIDTH)


def read_file(path: Path) -> bytes:
    """A file the user named, or MalformedInput saying why it cannot be read (never an OSError's traceback)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise MalformedInput(f"cannot read {path}: {exc.strerror}") from exc


def version_option(app: typer.Typer, name: str) -> None:
    """`NAME --version` prints the installed version and exits 0, before anything else is parsed."""

    def show(asked: bool) -> None:
        if asked:
            out.print(f"{name} {metadata.version('depa-chain')}", highlight=False)
            raise typer.Exit()

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", callback=show, is_eager=True, help="Print the version."),
    ) -> None:
        del version  # handled by its callback


def run(app: typer.Typer, *, error_exit: int = 1) -> None:
    """Run a typer app; a DepaError prints one line and exits with error_exit, usage errors exit 2."""
    try:
        code = app(standalone_mode=False)
    except DepaError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(error_exit)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except TyperException as exc:  # typer 0.29 raises its own click's errors: usage errors, missing files
        err.print(_usage_line(exc), highlight=False, soft_wrap=True, markup=False)
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)


def _usage_line(exc: TyperException) -> str:
    """One line: what is wrong and where help is (a bare command with no arguments gets its help instead)."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        return ctx.get_help()
    hint = f" (try '{ctx.command_path} --help')" if ctx is not None else ""
    return f"error: {exc.format_message()}{hint}"


def lineage_tree(graph: Graph) -> Tree:
    """The graph as a tree from its root: each node once, with what it came from or went into beneath it."""
    nodes = {n.id: n for n in graph.nodes}
    below: dict[str, list[tuple[str, str]]] = {}
    for e in graph.edges:
        below.setdefault(e.source, []).append((e.relation, e.target))
        below.setdefault(e.target, []).append((f"{e.relation} (of)", e.source))

    def label(node_id: str, relation: str = "") -> Text:
        n = nodes[node_id]
        where = f" {n.id}" if n.kind == "artefact" else ""  # whole: a digest is pasted back into commands
        where += f" entry {n.seq}" if n.seq is not None else ""
        return Text.assemble((f"{relation} " if relation else "", "dim"), (n.label, "bold"), (where, "dim"))

    tree, seen = Tree(label(graph.root)), {graph.root}
    todo = [(tree, graph.root)]
    while todo:
        branch, node_id = todo.pop()
        for relation, other in below.get(node_id, []):
            if other not in seen:
                seen.add(other)
                todo.append((branch.add(label(other, relation)), other))
    return tree
