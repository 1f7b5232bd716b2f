"""Rich renderings of audit results: tables people read at a glance."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from attestation.result import AttestationResult, Status
from auditor.checks import Finding

_STYLE = {Status.PASS: "green", Status.FAIL: "bold red", Status.NOT_CHECKED: "yellow"}
_CLAIMS = (
    "product",
    "version",
    "measurement",
    "host_data",
    "report_data",
    "platform_id",
    "debug",
    "vmpl",
    "signing_key",
)


def attestation_result(result: AttestationResult) -> Panel:
    claims = Table(show_header=False, box=None, pad_edge=False)
    claims.add_column(style="bold")
    claims.add_column(overflow="fold")
    data = result.claims.model_dump()
    for name in _CLAIMS:
        if data[name] is not None:
            claims.add_row(name, str(data[name]))
    if result.claims.tcb:
        claims.add_row("tcb", " ".join(f"{k}={v}" for k, v in result.claims.tcb.items()))
    for index, rtmr in enumerate(result.claims.rtmrs):
        claims.add_row(f"rtmr{index}", rtmr)
    checks = Table("check", "status", "reason")
    for item in result.checks:
        checks.add_row(item.name, Text(item.status.value, style=_STYLE[item.status]), item.reason)
    verdict = Text(
        "VERIFIED" if result.verified else "NOT VERIFIED", style="bold green" if result.verified else "bold red"
    )
    title = Text.assemble(verdict, f"  {result.evidence_type} {result.claims.product or ''}")
    parts: list[Table | Text] = [claims, checks]
    if result.security == "insecure-simulated":
        parts.insert(0, Text("INSECURE: simulated TEE evidence. It proves nothing about hardware.", style="bold red"))
    return Panel(Group(*parts), title=title, title_align="left", subtitle=result.source or None, subtitle_align="left",
                 expand=False)  # fmt: skip


_OUTCOME = {"pass": "green", "fail": "bold red", "not-checked": "yellow", "insecure": "bold magenta"}


def audit_report(report) -> Tree:
    """The audit as a tree: the log, the statements, then each run and budget, every check with its reason."""
    verdict = {0: ("VERIFIED", "bold green"), 1: ("VIOLATIONS", "bold red"), 3: ("LOG INCONSISTENT", "bold red")}
    label, style = verdict[report.exit_code]
    tree = Tree(Text.assemble((label, style), f"  {report.source}, {report.size} entries"))
    groups: dict[str, list[Finding]] = {}
    for finding in [*report.log, *report.findings]:
        groups.setdefault(finding.scope, []).append(finding)
    for scope, findings in groups.items():
        branch = tree.add(Text(scope, style="bold"))
        for f in findings:
            where = f" (entry {f.seq})" if f.seq is not None else ""
            branch.add(Text.assemble((f"{f.status:<11}", _OUTCOME[f.status]), f" {f.check}: {f.reason}{where}"))
    for name, note in report.evidence.items():
        tree.add(Text(f"evidence, {name} checkpoint:\n{note}", style="dim"))
    return tree


def budget_table(contract: str, rows) -> Table:
    table = Table(title=f"privacy budget of contract {contract[:23]}..., recomputed from the log")
    cols = (
        "dataset",
        "cap",
        "spent (RDP filter)",
        "best order",
        "spent (PLD)",
        "odometer",
        "reserved by",
        "composed",
        "remaining",
    )
    for col in cols:
        table.add_column(col, justify="left" if col in ("dataset", "reserved by") else "right")
    for r in rows:
        table.add_row(
            r.dataset,
            f"{r.cap:g}",
            f"{r.spent_rdp:.4f}",
            f"{r.spent_best_order:.4f}",
            f"{r.spent_pld:.4f}",
            f"{r.odometer:.4f}",
            ", ".join(r.reserved_runs) or "-",
            f"{r.composed_rdp:.4f}",
            f"{r.remaining:.4f}",
        )
    return table
