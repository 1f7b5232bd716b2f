// Lineage: the graph depa-audit lineage derives, drawn by graph.js, each node a button.

import { renderGraph } from "../graph.js";
import { api, go, h, link, main, replaying, short, show, table } from "../util.js";

export async function lineagePage(params, digest) {
  const artefacts = await api("/console/api/artefacts?limit=200");
  const direction = params.get("direction") || "both";
  const pick = h("select", { id: "l-art" }, h("option", { value: "" }, "choose an artefact"),
    [...artefacts].sort((a, b) => (a.kind === "model" ? -1 : 0) - (b.kind === "model" ? -1 : 0)).map((a) =>
      h("option", { value: a.digest, selected: a.digest === digest }, `${a.kind}: ${a.name} (${short(a.digest.slice(7), 10)})`)));
  const dir = h("select", { id: "l-dir" }, ["both", "up", "down"].map((d) => h("option", { value: d, selected: d === direction }, d)));
  const form = h("form", { class: "filters", "aria-label": "Choose an artefact" },
    h("div", { class: "field" }, h("label", { for: "l-art" }, "Artefact"), pick),
    h("div", { class: "field" }, h("label", { for: "l-dir" }, "Direction"), dir),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Show lineage")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (pick.value) go(`/lineage/${pick.value}?direction=${dir.value}`);
  });
  show(h("h1", {}, "Lineage"), h("p", { class: "hint" }, "The provenance graph depa-audit lineage re-derives from the log: datasets, runs, contracts, attestations and models."), form);
  if (!digest) return;
  const waiting = replaying();
  const graph = await api(`/console/api/lineage/${encodeURIComponent(digest)}?direction=${direction}`);
  waiting.remove();
  const detail = h("section", { class: "panel node-detail", "aria-live": "polite", "aria-labelledby": "n-title" }, h("h2", { id: "n-title" }, "Selected"), h("p", {}, "Choose a node (click, or Tab and Enter)."));
  const label = Object.fromEntries(graph.nodes.map((n) => [n.id, n.label]));
  const select = (n) => {
    const actions = [];
    if (n.seq !== null && n.seq !== undefined) actions.push(link(`/entry/${n.seq}`, `Entry ${n.seq}`));
    if (n.kind === "artefact" && n.id !== graph.root) actions.push(link(`/lineage/${n.id}?direction=${direction}`, "Show this artefact's lineage"));
    if (n.kind === "run") actions.push(link(`/entries?run=${encodeURIComponent(n.id.slice(4))}`, "Entries of this run"));
    if (n.kind === "contract") actions.push(link(`/contract/${encodeURIComponent(n.id.slice(9))}`, "Open the contract"));
    detail.replaceChildren(h("h2", { id: "n-title" }, `Selected ${n.kind}`), h("p", {}, n.label), h("p", {}, h("code", {}, n.id)),
      h("ul", { class: "inline" }, actions.map((a) => h("li", {}, a))));
  };
  main.append(
    h("div", { class: "graph-wrap" }, renderGraph(graph, select)),
    h("p", { class: "legend" }, "Arrows point from what was made to what it came from; dashed arrows are ", h("em", {}, "derived from"), "."),
    detail,
    h("details", {}, h("summary", {}, `The graph as a list (${graph.edges.length} edges)`),
      table("Edges", ["From", "Relation", "To"], graph.edges.map((e) => [label[e.source], e.relation.replace("_", " "), label[e.target]]))));
}
