"""The import graph, read from the source (ast): no cycle, and every import points down.

The layers, bottom up (docs/packages.md draws them): schemas, the wire; the building blocks, each importing only
the wire: the transparency log (`chain.tlog`), attestation, privacy, and the terminal and HTTP helpers; the party
client (`chain.client`); the ledger (`chain.ledger`) and the trainers; the auditor, the key broker and the
clean-room agent beside the ledger, never in it; `depa-chain` (`chain.cli`), the web console, the scenarios and the
benchmarks on top.

DEBTS are the known exceptions, each to be paid (issue 13): the test fails on a new one and on one paid.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("schemas", "attestation", "privacy", "trainers", "chain", "auditor", "keybroker", "ccr_agent",
            "webconsole", "scenarios", "bench")  # fmt: skip
BLOCKS = {"schemas", "attestation", "privacy", "chain.tlog", "chain.console", "chain.http_server"}
CLIENT = {"chain.client"} | BLOCKS - {"chain.http_server"}

# What each layer may import of ours (besides itself). A module's layer is the longest of these its name starts with.
ALLOWED = {
    "schemas": set(),
    "attestation": {"schemas"},
    "privacy": {"schemas"},
    "chain.tlog": {"schemas"},
    "chain.console": {"schemas"},
    "chain.http_server": {"schemas"},
    "chain.client": {"schemas", "chain.tlog"},
    "chain.ledger": BLOCKS - {"chain.console"},
    "chain.cli": BLOCKS | {"chain.client", "chain.ledger"},
    "trainers": {"schemas"},
    "auditor": CLIENT,
    "keybroker": CLIENT | {"chain.http_server"},
    "ccr_agent": CLIENT | {"keybroker", "trainers"},
    "webconsole": BLOCKS | {"chain.client", "chain.ledger", "chain.cli", "auditor", "scenarios"},
    "scenarios": BLOCKS | {"chain.client", "chain.ledger", "chain.cli", "ccr_agent", "keybroker", "trainers"},
    "bench": set(),  # everything: it measures them all
}
DEBTS: set[tuple[str, str]] = set()  # none today


def layer(module: str) -> str:
    return max((name for name in ALLOWED if module == name or module.startswith(name + ".")), key=len)


def imports() -> dict[str, set[str]]:
    """Each module of ours -> the modules of ours it imports (at any depth of the file, TYPE_CHECKING included)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
                graph[module] |= {n for n in names if n.split(".")[0] in PACKAGES and _is_module(n)}
    return graph


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def test_every_layer_imports_only_the_layers_below_it() -> None:
    upward = {
        (module, target)
        for module, targets in imports().items()
        for target in targets
        if layer(target) != layer(module) and layer(module) != "bench" and layer(target) not in ALLOWED[layer(module)]
    }
    assert upward - DEBTS == set(), "imports that point up"
    assert DEBTS - upward == set(), "paid debts: remove them from DEBTS"


def test_the_auditor_the_broker_and_the_agent_do_not_import_the_ledger() -> None:
    for outside in ("auditor", "keybroker", "ccr_agent"):
        assert "chain.ledger" not in ALLOWED[outside]


def test_the_import_graph_has_no_cycle() -> None:
    graph = imports()
    cycles = [sorted(component) for component in _strongly_connected(graph) if len(component) > 1]
    assert cycles == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in list(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


def test_the_check_sees_an_upward_import() -> None:
    """The reader itself: the web console's import of the scenarios is found (it is allowed there), and a module
    belongs to the longest layer its name starts with."""
    assert "scenarios" in {t.split(".")[0] for m, ts in imports().items() if m.startswith("webconsole") for t in ts}
    assert (layer("chain.ledger.policy"), layer("chain.cli"), layer("schemas.api")) == (
        "chain.ledger",
        "chain.cli",
        "schemas",
    )


def test_the_check_sees_a_cycle() -> None:
    """As policy and run_policy were, each importing the other."""
    graph = {
        "chain.policy": {"chain.run_policy"},
        "chain.run_policy": {"chain.policy"},
        "chain.views": {"chain.policy"},
    }
    assert [c for c in _strongly_connected(graph) if len(c) > 1] == [{"chain.policy", "chain.run_policy"}]


def test_the_party_client_loads_no_server_accountant_or_verifier() -> None:
    """A party that only reads and appends pays for none of them (each import is a fresh interpreter's)."""
    import subprocess
    import sys

    heavy = ["numpy", "fastapi", "sqlalchemy", "uvicorn", "dp_accounting", "attestation.tdx",
             "attestation.snp", "chain.ledger", "privacy"]  # fmt: skip
    code = f"import sys, chain.client; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"
