// Audit: depa-audit verify --contract, run by the server, every check with its result and reason.

import { api, badge, h, link, main, show, table } from "../util.js";
import { contractPicker } from "./contracts.js";

export async function auditPage(params, cid) {
  show(h("h1", {}, "Audit"), h("p", { class: "hint" }, "Runs depa-audit verify --contract on the server over the log up to the current checkpoint: every signature, signer right, attestation, key release, budget and output, re-derived."), await contractPicker("a", cid, "Run the audit"));
  if (!cid) return;
  const status = h("p", { role: "status" }, "The auditor is replaying the log...");
  main.append(status);
  const report = await api(`/console/api/contracts/${encodeURIComponent(cid)}/audit`);
  const all = [...report.log, ...report.findings];
  const count = (x) => all.filter((f) => f.status === x).length;
  status.replaceChildren(badge(count("fail") ? "fail" : "pass"),
    ` ${report.size} entries audited: ${count("pass")} pass, ${count("fail")} fail, ${count("not-checked")} not checked, ${count("insecure")} insecure.`);
  const rows = (findings) => findings.map((f) => [f.scope, f.check, badge(f.status), f.reason, f.seq !== null && f.seq !== undefined ? link(`/entry/${f.seq}`, String(f.seq)) : ""]);
  main.append(table("The log", ["Scope", "Check", "Result", "Reason", "Entry"], rows(report.log)),
    table("The contract's statements, runs and budgets", ["Scope", "Check", "Result", "Reason", "Entry"], rows(report.findings)));
}
