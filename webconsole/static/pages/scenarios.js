// Scenarios (depa-chain console only): each one's contract and pipeline, and a run streamed to the page.

import { api, badge, errorBox, h, main, show, table } from "../util.js";

const TOKEN = "depa.console.token";

export function takeToken() {
  const m = /^#token=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN, m[1]);
    history.replaceState(null, "", `${location.pathname}#/scenarios`);
  }
}

const authed = (options = {}) => ({
  ...options, headers: { ...(options.headers || {}), Authorization: `Bearer ${sessionStorage.getItem(TOKEN) || ""}` },
});

export async function scenariosPage() {
  const summary = await api("/console/api/summary");
  document.getElementById("nav-scenarios").hidden = !summary.runner;
  show(h("h1", {}, "Scenarios"));
  if (!summary.runner) {
    main.append(h("p", {}, "The scenario runner is part of ", h("code", {}, "depa-chain console"), " on your own machine; this ledger serves the console read-only."));
    return;
  }
  if (!sessionStorage.getItem(TOKEN)) {
    const input = h("input", { id: "token", type: "password", autocomplete: "off", required: true });
    const form = h("form", { class: "panel" }, h("div", { class: "field" }, h("label", { for: "token" }, "Runner token (depa-chain console printed it)"), input), h("button", { type: "submit" }, "Use this token"));
    form.addEventListener("submit", (event) => { event.preventDefault(); sessionStorage.setItem(TOKEN, input.value.trim()); scenariosPage(); });
    main.append(form);
    return;
  }
  const scenarios = await api("/console/api/scenarios", authed());
  for (const sc of scenarios) {
    const button = h("button", { type: "button" }, `Run ${sc.name}`);
    const area = h("div");
    button.addEventListener("click", () => runScenario(sc, button, area));
    main.append(h("section", { class: "panel", "aria-labelledby": `sc-${sc.name}` },
      h("h2", { id: `sc-${sc.name}` }, sc.title), h("p", {}, sc.description),
      table("Datasets", ["Dataset", "Provider", "File"], Object.entries(sc.datasets).map(([id, [provider, file]]) => [h("code", {}, id), provider, file])),
      h("details", {}, h("summary", {}, "Contract template"), h("pre", { class: "json", tabindex: 0 }, JSON.stringify(sc.contract, null, 2))),
      h("details", {}, h("summary", {}, "Pipeline"), h("pre", { class: "json", tabindex: 0 }, JSON.stringify(sc.pipeline, null, 2))),
      button, area));
  }
}

async function runScenario(sc, button, area) {
  for (const b of main.querySelectorAll("section button")) b.disabled = true;
  const steps = h("ol", { class: "steps" });
  const log = h("pre", { class: "log", tabindex: 0, "aria-label": "output" });
  const bar = h("progress", { "aria-label": `${sc.name} running` });
  const status = h("p", { role: "status" }, "Starting...");
  area.replaceChildren(h("h3", {}, "Progress"), bar, status, steps, h("h3", {}, "Output"), log);
  try {
    const run = await api(`/console/api/scenarios/${sc.name}/runs`, authed({ method: "POST" }));
    status.textContent = `Running ${run.id}`;
    const response = await fetch(`/console/api/runs/${run.id}/output`, authed());
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "", final = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const lines = buffer.split("\n");
      buffer = lines.pop();
      for (const text of lines.filter(Boolean)) {
        const item = JSON.parse(text);
        if (item.status) { final = item; continue; }
        log.append(`${item.line}\n`);
        log.scrollTop = log.scrollHeight;
        if (item.step) {
          steps.lastChild?.classList.add("done");
          steps.append(h("li", { class: "current" }, item.step));
          status.textContent = item.step;
        }
      }
    }
    bar.max = 1; bar.value = 1;
    steps.lastChild?.classList.add("done");
    if (!final) throw new Error("the output stream ended before the run did");
    const explore = h("button", { type: "button" }, "Explore its ledger");
    const where = h("p", { "aria-live": "polite" });
    explore.addEventListener("click", async () => {
      const opened = await api(`/console/api/runs/${final.id}/explore`, authed({ method: "POST" }));
      where.replaceChildren(h("a", { href: opened.explore }, `Open ${opened.explore}`), " and pin its key: ", h("code", {}, opened.vkey || ""));
    });
    status.replaceChildren(badge(final.status), final.status === "passed"
      ? ` ${sc.name} finished and depa-audit verify passed (exit code 0).` : ` ${sc.name} failed with exit code ${final.exit_code}.`);
    area.append(explore, where);
  } catch (error) {
    status.replaceChildren(errorBox(error));
  } finally {
    for (const b of main.querySelectorAll("section button")) b.disabled = false;
  }
}
