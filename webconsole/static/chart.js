// A dataset's privacy spend over its budget statements, as an SVG step chart: committed epsilon, committed
// plus reserved (composed), and the contract's cap. The same figures are in the table beside it.

import { s } from "./util.js";

const W = 640, H = 252, L = 48, R = 16, T = 16, B = 52;

export function renderBudget(series) {
  const last = series.points[series.points.length - 1] || { committed: 0, composed: 0 };
  // A start at zero and a "now" after the last statement, so each level shows as a step of its own.
  const points = [{ committed: 0, composed: 0 }, ...series.points, { ...last, seq: "now", at: null }];
  const top = Math.max(series.cap * 1.15, ...points.map((p) => p.composed)) || 1;
  const x = (i) => L + (i * (W - L - R)) / Math.max(1, points.length - 1);
  const y = (eps) => T + (H - T - B) * (1 - eps / top);
  const steps = (key) => points.map((p, i) => `${i ? `L${x(i)},${y(points[i - 1][key])} ` : "M"}${x(i)},${y(p[key])}`).join(" ");
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "budget-chart", role: "img",
    "aria-label": `epsilon spent on ${series.dataset} over ${series.points.length} budget statements; cap ${series.cap}` });
  for (let i = 0; i <= 4; i++) {
    const eps = (top * i) / 4;
    svg.append(s("line", { x1: L, x2: W - R, y1: y(eps), y2: y(eps), class: "grid" }));
    svg.append(s("text", { x: L - 6, y: y(eps) + 4, "text-anchor": "end", class: "axis" }, eps.toFixed(1)));
  }
  points.forEach((p, i) => {
    if (!i) return;
    svg.append(s("text", { x: x(i), y: H - B + 14, "text-anchor": "middle", class: "axis" }, p.seq === "now" ? "now" : `#${p.seq}`));
    if (p.at) svg.append(s("text", { x: x(i), y: H - B + 26, "text-anchor": "middle", class: "axis" }, p.at.slice(11, 19)));
  });
  svg.append(s("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "axis" }, "budget statements: entry and time logged (UTC)"));
  svg.append(s("line", { x1: L, x2: W - R, y1: y(series.cap), y2: y(series.cap), class: "cap" }));
  svg.append(s("text", { x: W - R, y: y(series.cap) - 5, "text-anchor": "end", class: "cap-label" }, `cap \u03b5 = ${series.cap}`));
  svg.append(s("path", { d: steps("composed"), class: "composed" }));
  svg.append(s("path", { d: steps("committed"), class: "committed" }));
  return svg;
}
