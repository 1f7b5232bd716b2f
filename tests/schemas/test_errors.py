"""Every error type lives in schemas/errors.py, so a problem document is rebuilt as the type that was raised,
with its remedy, in whichever process reads it."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest

from chain.client import problem_error
from schemas import errors
from schemas.errors import REGISTRY, DepaError, ReleaseRefused

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "chain", "ccr_agent", "trainers", "auditor", "keybroker", "webconsole", "scenarios")


def _sets_slug(node: ast.ClassDef) -> bool:
    targets = [t for stmt in node.body if isinstance(stmt, ast.Assign) for t in stmt.targets]
    names = [e for t in targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
    return any(isinstance(n, ast.Name) and n.id == "slug" for n in names)


def test_no_problem_type_is_defined_outside_the_registry_module() -> None:
    """Elsewhere an error may refine one (a Merkle proof's RootMismatch is a verification-failed), never add one."""
    names = set(cls.__name__ for cls in REGISTRY.values()) | {"DepaError"}
    elsewhere = [
        f"{path.relative_to(ROOT)}: {node.name}"
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if path != ROOT / "schemas" / "errors.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        and any(isinstance(b, ast.Name) and b.id in names for b in node.bases)
        and _sets_slug(node)
    ]
    assert elsewhere == []


@pytest.mark.parametrize("cls", sorted(set(REGISTRY.values()) - {errors.ForkError}, key=lambda c: c.slug))
def test_each_problem_type_is_rebuilt_as_its_own_class(cls: type[DepaError]) -> None:
    resp = httpx.Response(cls.status, json={"type": f"urn:depa:problem:{cls.slug}", "detail": "what happened"})
    rebuilt = problem_error(resp)
    assert type(rebuilt) is cls and rebuilt.detail == "what happened"


def test_a_key_brokers_refusal_reaches_the_agent_with_its_remedy() -> None:
    """It used to arrive as a bare error: the broker's error class was not imported where the agent read it."""
    body = {
        "type": "urn:depa:problem:release-refused",
        "detail": "run r1 has no reservation",
        "remedy": "reserve first",
    }
    rebuilt = problem_error(httpx.Response(403, json=body))
    assert isinstance(rebuilt, ReleaseRefused)
    assert str(rebuilt) == "run r1 has no reservation (reserve first)"


def test_a_problem_of_an_unknown_type_keeps_its_detail_and_remedy() -> None:
    body = {"type": "urn:depa:problem:from-the-future", "detail": "something new", "remedy": "upgrade"}
    rebuilt = problem_error(httpx.Response(418, json=body))
    assert type(rebuilt) is DepaError and str(rebuilt) == "418: something new (upgrade)"


@pytest.mark.parametrize("cls", sorted(REGISTRY.values(), key=lambda c: c.slug), ids=lambda c: c.slug)
def test_no_remedy_points_at_a_document_the_user_does_not_have(cls: type[DepaError]) -> None:
    assert "DESIGN" not in cls.remedy and "../shared" not in cls.remedy
