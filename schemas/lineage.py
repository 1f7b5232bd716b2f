"""Lineage: which artefact was derived from which, walked once for the ledger and the auditor alike.

One relation, spelled one way: a child is `derived_from` its parent. The ledger's API sends it as
`LineageEdge(parent, child)` over the artefacts a reader may see (`schemas.api.Lineage`); the auditor's graph
adds the runs, contracts and attestations behind each artefact (`Graph`), and `Lineage.graph()` turns the one
into the other, so one renderer draws both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from pydantic import BaseModel

Direction = Literal["up", "down", "both"]
Kind = Literal["artefact", "run", "contract", "attestation"]
Relation = Literal["derived_from", "generated_by", "used", "under", "attested_by"]


class Node(BaseModel):
    id: str
    kind: Kind
    label: str
    seq: int | None = None


class Edge(BaseModel):
    source: str
    target: str
    relation: Relation


class Graph(BaseModel):
    root: str
    nodes: list[Node]
    edges: list[Edge]


def walk(
    root: str,
    parents: Callable[[str], Iterable[str]],
    children: Callable[[str], Iterable[str]],
    direction: Direction,
    shown: Callable[[str], bool],
) -> tuple[set[str], set[tuple[str, str]]]:
    """Every artefact reachable from `root` through what each was derived from (up), what was derived from it
    (down), or both, and the (parent, child) links between them; `shown` bounds the walk to the artefacts
    that count (registered ones, those a reader may see)."""
    seen, links, todo = {root}, set(), [root]
    while todo:
        d = todo.pop()
        steps: list[tuple[str, str]] = []
        if direction in ("up", "both"):
            steps += [(p, d) for p in parents(d)]
        if direction in ("down", "both"):
            steps += [(d, c) for c in children(d)]
        for parent, child in steps:
            if not (shown(parent) and shown(child)):
                continue
            links.add((parent, child))
            other = parent if child == d else child
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen, links
