"""The import graph, read from the source (ast): no cycle, and every import points down.

Layers, bottom up: schemas (the wire); trainers; chain's building blocks (Merkle, checkpoints, receipts,
attestation, the accountant, the client) and the ledger (its rules, records, stores and service); the auditor,
the key broker and the clean-room agent beside each other; the web console, the scenarios and the benchmarks on
top. The ledger never imports the console, the auditor, the agent, the broker or the scenarios, and the auditor,
the broker and the agent never import the ledger's rules, records, stores or service.

DEBTS are the known exceptions, each to be paid (issue 13): the test fails on a new one and on one paid.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("schemas", "trainers", "chain", "auditor", "keybroker", "ccr_agent", "webconsole", "scenarios", "bench")

# What each package may import of ours (besides itself).
ALLOWED = {
    "schemas": set(),
    "trainers": {"schemas"},
    "chain": {"schemas"},
    "auditor": {"chain", "schemas"},
    "keybroker": {"chain", "schemas"},
    "ccr_agent": {"chain", "keybroker", "schemas", "trainers"},
    "webconsole": {"auditor", "chain", "scenarios", "schemas"},
    "scenarios": {"ccr_agent", "chain", "keybroker", "schemas", "trainers"},
    "bench": set(PACKAGES) - {"bench"},
}
# The ledger itself, as opposed to the building blocks every party uses.
LEDGER = {
    "chain.cli", "chain.home", "chain.integrity", "chain.ledger", "chain.policy", "chain.readers", "chain.records",
    "chain.run_policy", "chain.sequencer", "chain.service", "chain.sqlstore", "chain.store",
}  # fmt: skip
OUTSIDE_THE_LEDGER = ("auditor", "keybroker", "ccr_agent")
DEBTS = {
    ("auditor.snapshot", "chain.sqlstore"),  # the auditor reads a ledger's database through the ledger's store
}


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


def test_every_package_imports_only_the_layers_below_it() -> None:
    upward = sorted(
        (module, target)
        for module, targets in imports().items()
        for target in targets
        if target.split(".")[0] != module.split(".")[0] and target.split(".")[0] not in ALLOWED[module.split(".")[0]]
    )
    assert upward == []


def test_the_auditor_the_broker_and_the_agent_do_not_import_the_ledger() -> None:
    found = {
        (module, target)
        for module, targets in imports().items()
        if module.startswith(OUTSIDE_THE_LEDGER)
        for target in targets
        if target in LEDGER
    }
    assert found - DEBTS == set(), "new imports of the ledger"
    assert DEBTS - found == set(), "paid debts: remove them from DEBTS"


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
    """The reader itself: the web console's import of the scenarios is found (it is allowed there)."""
    assert "scenarios" in {t.split(".")[0] for m, ts in imports().items() if m.startswith("webconsole") for t in ts}


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

    heavy = ["numpy", "fastapi", "sqlalchemy", "uvicorn", "dp_accounting", "chain.attestation.tdx",
             "chain.attestation.snp", "chain.ledger", "chain.policy"]  # fmt: skip
    code = f"import sys, chain.client; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"
