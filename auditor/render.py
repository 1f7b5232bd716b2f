"""Rich renderings of audit results: tables people read at a glance."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from chain.attestation.result import AttestationResult, Status

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
    checks = Table("check", "status", "reason", expand=True)
    for item in result.checks:
        checks.add_row(item.name, Text(item.status.value, style=_STYLE[item.status]), item.reason)
    verdict = Text(
        "VERIFIED" if result.verified else "NOT VERIFIED", style="bold green" if result.verified else "bold red"
    )
    title = Text.assemble(verdict, f"  {result.evidence_type} {result.claims.product or ''}")
    parts = [claims, checks]
    if result.security == "insecure-simulated":
        parts.insert(0, Text("INSECURE: simulated TEE evidence. It proves nothing about hardware.", style="bold red"))
    return Panel(Group(*parts), title=title, title_align="left", subtitle=result.source or None, subtitle_align="left")
