// Budgets: each capped dataset now, as the ledger admits it, and over its budget statements.

import { renderBudget } from "../chart.js";
import { api, h, link, main, replaying, short, show, table, when } from "../util.js";
import { contractPicker } from "./contracts.js";

export async function budgetsPage(params, cid) {
  show(h("h1", {}, "Privacy budgets"), await contractPicker("b", cid, "Show budgets"));
  if (!cid) return;
  const waiting = replaying();
  const [now, history] = await Promise.all([api(`/v1/contracts/${encodeURIComponent(cid)}/budget`), api(`/console/api/contracts/${encodeURIComponent(cid)}/budget`)]);
  waiting.remove();
  main.append(table("Each dataset now (epsilon at the contract's delta, RDP composed, as the ledger admits it)",
    ["Dataset", "Cap", "Committed", "Reserved", "Remaining"],
    now.datasets.map((d) => [h("code", {}, d.dataset), String(d.cap), d.committed_epsilon.toFixed(3), d.reserved_epsilon.toFixed(3), d.remaining_epsilon.toFixed(3)])));
  for (const series of history) {
    main.append(h("section", { class: "panel", "aria-label": `budget of ${series.dataset}` },
      h("h2", {}, "Dataset ", h("code", {}, series.dataset)),
      series.points.length ? renderBudget(series) : h("p", {}, "No run has reserved budget on it yet."),
      h("p", { class: "legend" }, h("span", { class: "key committed" }, "committed"), h("span", { class: "key composed" }, "committed and reserved"), h("span", { class: "key cap" }, "cap")),
      table("Budget statements, replayed from the log", ["Entry", "Logged at", "Statement", "Run", "Committed \u03b5", "With reserved \u03b5", "Remaining \u03b5"],
        series.points.map((p) => [link(`/entry/${p.seq}`, String(p.seq)), when(p.at), p.kind, short(p.run_id, 18), p.committed.toFixed(3), p.composed.toFixed(3), p.remaining.toFixed(3)]))));
  }
}
