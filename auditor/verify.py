"""`depa-audit verify`: the log's integrity, then the collaboration re-derived and checked, as one report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from auditor.checks import Finding, all_findings
from auditor.log import check_log
from auditor.replay import World
from auditor.signatures import ParallelVerifier
from auditor.snapshot import Snapshot
from chain.tlog.checkpoint import VerifierKey

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE, EXIT_LOG = 0, 1, 2, 3


class AuditReport(BaseModel):
    source: str
    size: int
    operator: str
    log: list[Finding]
    findings: list[Finding]
    evidence: dict[str, str] = {}  # contradicting signed checkpoints, kept for whoever needs to prove it

    @property
    def exit_code(self) -> int:
        if any(f.status == "fail" for f in self.log):
            return EXIT_LOG
        return EXIT_VIOLATIONS if any(f.status == "fail" for f in self.findings) else EXIT_OK


def audit(
    snapshot: Snapshot,
    vkey: VerifierKey,
    *,
    state: Path | None = None,
    operator: str | None = None,
    contract: str | None = None,
    recorded: Callable[[list[str]], dict[tuple[str, str], float]] | None = None,
    progress: Callable[[int], None] | None = None,
    parallel: bool = True,
) -> AuditReport:
    world = World(operator or "", verifier=ParallelVerifier() if parallel else None)
    log = check_log(snapshot, vkey, state, world.add, progress, world.roots)
    if world.verifier is not None and world.verifier.failures():
        world = World(operator or "")  # a bad signature: replay again, refusing each bad statement in its place
        log = check_log(snapshot, vkey, state, world.add, roots=world.roots)
    findings = all_findings(world, recorded(list(world.contracts)) if recorded else None)
    if contract is not None:
        runs = {f"run {r}" for r, run in world.runs.items() if run.body.contract_id == contract}
        findings = [
            f
            for f in findings
            if f.scope == "statements" or f.scope in runs or f.scope.startswith(f"budget {contract[:19]}")
        ]
    log_findings = [Finding(scope="log", check=c.name, status=c.status.value, reason=c.reason) for c in log.checks]
    note = "pinned" if operator else "the signer of entry 0 (pin it with --operator)"
    log_findings.append(
        Finding(
            scope="log",
            check="operator",
            status="not-checked" if not operator else "pass",
            reason=f"operator {world.operator}: {note}",
        )
    )
    return AuditReport(
        source=snapshot.source,
        size=log.checkpoint.size if log.checkpoint else 0,
        operator=world.operator,
        log=log_findings,
        findings=findings,
        evidence=log.evidence,
    )
