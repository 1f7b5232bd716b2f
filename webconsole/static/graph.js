// The lineage graph of depa-audit lineage, drawn as layered SVG: what a model came from sits below it.
// Each node is a keyboard-reachable button; edges point from the derived thing to its source.

import { s } from "./util.js";

const W = 210, H = 50, GAP_X = 36, GAP_Y = 76, PAD = 24;

// Rank 0 for nodes that point nowhere (datasets, contracts, attestations); a node sits one above its highest source.
function ranks(graph) {
  const out = new Map(graph.nodes.map((n) => [n.id, []]));
  for (const e of graph.edges) out.get(e.source)?.push(e.target);
  const rank = new Map();
  const visit = (id, path) => {
    if (rank.has(id)) return rank.get(id);
    if (path.has(id)) return 0;
    path.add(id);
    const r = Math.max(-1, ...out.get(id).map((t) => visit(t, path))) + 1;
    path.delete(id);
    rank.set(id, r);
    return r;
  };
  for (const n of graph.nodes) visit(n.id, new Set());
  return rank;
}

export function layout(graph) {
  const rank = ranks(graph);
  const top = Math.max(0, ...rank.values());
  const rows = Array.from({ length: top + 1 }, () => []);
  for (const n of graph.nodes) rows[top - rank.get(n.id)].push(n);
  for (const row of rows) row.sort((a, b) => a.kind.localeCompare(b.kind) || (a.seq ?? 0) - (b.seq ?? 0));
  const widest = Math.max(1, ...rows.map((r) => r.length));
  const width = widest * (W + GAP_X) - GAP_X + 2 * PAD;
  const at = new Map();
  rows.forEach((row, y) => {
    const offset = (width - (row.length * (W + GAP_X) - GAP_X)) / 2;
    row.forEach((n, x) => at.set(n.id, { x: offset + x * (W + GAP_X), y: PAD + y * (H + GAP_Y) }));
  });
  return { at, width, height: rows.length * (H + GAP_Y) - GAP_Y + 2 * PAD };
}

const clip = (text, n) => (text.length > n ? `${text.slice(0, n - 1)}\u2026` : text);

export function renderGraph(graph, onSelect) {
  const { at, width, height } = layout(graph);
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, class: "lineage", role: "group",
    "aria-label": `lineage of ${graph.root}: ${graph.nodes.length} nodes, ${graph.edges.length} edges`,
  });
  svg.append(s("defs", {}, s("marker", {
    id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
  }, s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))));
  for (const e of graph.edges) {
    const a = at.get(e.source), b = at.get(e.target);
    if (!a || !b) continue;
    const down = b.y > a.y;
    const x1 = a.x + W / 2, y1 = down ? a.y + H : a.y, x2 = b.x + W / 2, y2 = down ? b.y : b.y + H;
    const mid = (y1 + y2) / 2;
    svg.append(s("path", { d: `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}`, class: `edge edge-${e.relation}`, "marker-end": "url(#arrow)" }));
    if (e.relation !== "derived_from") {  // the many derived-from arrows go unlabelled: dashed, as the legend says
      svg.append(s("text", { x: (x1 + x2) / 2, y: mid - 3, class: "edge-label", "text-anchor": "middle" }, e.relation.replace("_", " ")));
    }
  }
  for (const n of graph.nodes) {
    const { x, y } = at.get(n.id);
    const select = () => onSelect(n);
    const g = s("g", {
      class: `node node-${n.kind}${n.id === graph.root ? " node-root" : ""}`, tabindex: 0, role: "button",
      "aria-label": `${n.kind}: ${n.label}${n.seq !== null && n.seq !== undefined ? `, entry ${n.seq}` : ""}`,
      "data-id": n.id, transform: `translate(${x},${y})`,
      onclick: select,
      onkeydown: (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(); } },
    },
    s("rect", { width: W, height: H, rx: 7 }),
    s("text", { x: 10, y: 20, class: "node-label" }, clip(n.label, 27)),
    s("text", { x: 10, y: 38, class: "node-kind" }, `${n.kind}${n.seq !== null && n.seq !== undefined ? ` \u00b7 entry ${n.seq}` : ""}`),
    s("title", {}, n.label));
    svg.append(g);
  }
  return svg;
}
