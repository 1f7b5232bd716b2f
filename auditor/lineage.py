"""The provenance graph of an artefact, re-derived from the log: datasets, runs, contracts, attestations, models.

Rendered as a tree, JSON, Graphviz dot, Mermaid or W3C PROV-JSON (https://www.w3.org/submissions/prov-json/).
"""

from __future__ import annotations

import json

from auditor.replay import World
from schemas.errors import NotFound
from schemas.lineage import Direction, Edge, Graph, Node, walk


def reachable(world: World, digest: str, direction: Direction = "both") -> set[str]:
    """The artefact and every registered artefact it derives from (up), that derives from it (down), or both."""
    return _walk(world, digest, direction)[0]


def _walk(world: World, digest: str, direction: Direction) -> tuple[set[str], set[tuple[str, str]]]:
    arts, children = world.artefacts, world.children
    return walk(digest, lambda d: arts[d].derived_from, lambda d: children.get(d, []), direction, arts.__contains__)


def lineage(world: World, digest: str, direction: Direction = "both") -> Graph:
    if digest not in world.artefacts:
        raise NotFound(f"no artefact {digest} in the log")
    seen, links = _walk(world, digest, direction)
    nodes: dict[str, Node] = {}
    edges = [Edge(source=child, target=parent, relation="derived_from") for parent, child in sorted(links)]
    for d in sorted(seen, key=lambda x: world.artefacts[x].seq):
        art = world.artefacts[d]
        nodes[d] = Node(id=d, kind="artefact", label=f"{art.name} ({art.kind})", seq=art.seq)
        if art.produced_by and (run := world.runs.get(art.produced_by)):
            _add_run(world, art.produced_by, run, nodes, edges, seen)
            edges.append(Edge(source=d, target=f"run:{art.produced_by}", relation="generated_by"))
    return Graph(root=digest, nodes=list(nodes.values()), edges=_unique(edges))


def _add_run(world: World, run_id: str, run, nodes: dict[str, Node], edges: list[Edge], seen: set[str]) -> None:
    rid, cid = f"run:{run_id}", run.body.contract_id
    status = run.complete.body.status if run.complete else "incomplete"
    nodes[rid] = Node(id=rid, kind="run", label=f"run {run_id} ({status})", seq=run.attestation.seq)
    att = f"attestation:{run.attestation.statement.id}"
    nodes[att] = Node(
        id=att, kind="attestation", label=f"{run.body.evidence.type} attestation", seq=run.attestation.seq
    )
    nodes[f"contract:{cid}"] = Node(
        id=f"contract:{cid}",
        kind="contract",
        label=f"contract {cid[:19]}...",
        seq=world.contracts[cid].proposed_seq if cid in world.contracts else None,
    )
    edges += [
        Edge(source=rid, target=att, relation="attested_by"),
        Edge(source=rid, target=f"contract:{cid}", relation="under"),
    ]
    for digest in run.start.body.reads() if run.start else []:
        if digest in seen:
            edges.append(Edge(source=rid, target=digest, relation="used"))


def _unique(edges: list[Edge]) -> list[Edge]:
    return list({(e.source, e.target, e.relation): e for e in edges}.values())


def to_dot(graph: Graph) -> str:
    shapes = {"artefact": "note", "run": "box", "contract": "folder", "attestation": "component"}
    lines = ["digraph lineage {", "  rankdir=BT;"]
    lines += [f'  "{n.id}" [label={json.dumps(n.label)}, shape={shapes[n.kind]}];' for n in graph.nodes]
    lines += [f'  "{e.source}" -> "{e.target}" [label="{e.relation}"];' for e in graph.edges]
    return "\n".join([*lines, "}"]) + "\n"


def to_mermaid(graph: Graph) -> str:
    ids = {n.id: f"n{i}" for i, n in enumerate(graph.nodes)}
    lines = ["flowchart BT"]
    lines += [f'  {ids[n.id]}["{n.label.replace(chr(34), chr(39))}"]' for n in graph.nodes]
    lines += [f"  {ids[e.source]} -->|{e.relation}| {ids[e.target]}" for e in graph.edges]
    return "\n".join(lines) + "\n"


def to_prov(graph: Graph) -> dict:
    """W3C PROV-JSON: artefacts are entities, runs activities, contracts and attestations entities they cite."""
    doc: dict[str, dict] = {
        "prefix": {"depa": "urn:depa:"},
        "entity": {},
        "activity": {},
        "wasDerivedFrom": {},
        "wasGeneratedBy": {},
        "used": {},
        "wasInfluencedBy": {},
    }
    qid = {n.id: "depa:" + n.id.replace(":", "/") for n in graph.nodes}
    for n in graph.nodes:
        bucket = "activity" if n.kind == "run" else "entity"
        doc[bucket][qid[n.id]] = {"prov:label": n.label, "prov:type": f"depa:{n.kind}", "depa:entry": n.seq}
    for i, e in enumerate(graph.edges):
        key = f"_:e{i}"
        if e.relation == "derived_from":
            doc["wasDerivedFrom"][key] = {"prov:generatedEntity": qid[e.source], "prov:usedEntity": qid[e.target]}
        elif e.relation == "generated_by":
            doc["wasGeneratedBy"][key] = {"prov:entity": qid[e.source], "prov:activity": qid[e.target]}
        elif e.relation == "used":
            doc["used"][key] = {"prov:activity": qid[e.source], "prov:entity": qid[e.target]}
        else:
            doc["wasInfluencedBy"][key] = {
                "prov:influencee": qid[e.source],
                "prov:influencer": qid[e.target],
                "prov:type": f"depa:{e.relation}",
            }
    return {k: v for k, v in doc.items() if v}
