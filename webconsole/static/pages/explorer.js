// The explorer: the checkpoint, verified here; entries paged and filtered on the server; new ones live.

import { signedFetch } from "../read.js";
import { api, badge, go, h, link, short, show, when } from "../util.js";
import { openCheckpoint, parseCheckpoint, parseNote } from "../verify.js";
import { consistentWithSeen, pinned, witnessChecks } from "./trust.js";

let live = null; // the live feed's AbortController, aborted when the page changes

export function stopLive() {
  if (live) { live.abort(); live = null; }
}

const FILTERS = ["kind", "party", "contract", "run", "since", "until"];

export async function explorer(params) {
  const [summary, choices, parties] = await Promise.all([
    api("/console/api/summary"), api("/console/api/filters"), api("/v1/parties"),
  ]);
  document.getElementById("nav-scenarios").hidden = !summary.runner;
  const filtered = FILTERS.some((f) => params.get(f));
  const page = await api(`/console/api/entries?${params}`);
  const rows = h("tbody", {}, page.rows.map(entryRow));
  const liveStatus = h("p", { class: "live", role: "status", "aria-live": "polite" });
  show(
    h("h1", {}, "Ledger explorer"),
    await checkpointPanel(summary),
    filterForm(params, choices, parties),
    h("table", { class: "entries" },
      h("caption", {}, filtered ? "Entries matching the filters, newest first" : "Entries, newest first"),
      h("thead", {}, h("tr", {}, ["Entry", "Logged at", "Type", "Signed by", "Contract", "Run", "What"].map((c) => h("th", { scope: "col" }, c)))),
      rows),
    page.rows.length ? null : h("p", {}, "No entries match."),
    h("nav", { class: "pager", "aria-label": "Pages" },
      params.get("before") ? link(`/entries?${withParam(params, "before", null)}`, "Newest entries") : null,
      page.next_before !== null ? link(`/entries?${withParam(params, "before", page.next_before)}`, "Older entries") : null),
    liveStatus,
  );
  followLive(page.size, !filtered && !params.get("before"), rows, liveStatus);
}

function withParam(params, key, value) {
  const next = new URLSearchParams(params);
  if (value === null) next.delete(key); else next.set(key, value);
  return next;
}

function entryRow(r) {
  return h("tr", { "data-seq": r.seq },
    h("td", {}, link(`/entry/${r.seq}`, String(r.seq))),
    h("td", {}, when(r.logged_at)),
    h("td", {}, h("code", {}, r.kind)),
    h("td", { title: r.signer }, r.signer_name || short(r.signer, 20)),
    h("td", {}, r.contract ? link(`/contract/${encodeURIComponent(r.contract)}`, short(r.contract, 14), { title: r.contract }) : ""),
    h("td", {}, r.run ? link(`/entries?run=${encodeURIComponent(r.run)}`, short(r.run, 18), { title: r.run }) : ""),
    h("td", {}, r.summary));
}

// Server-sent events read with fetch, not EventSource: an EventSource cannot sign its request.
async function* serverEvents(path, signal) {
  const response = await signedFetch(path, { signal, headers: { Accept: "text/event-stream" } });
  if (!response.ok) throw new Error(`the live feed answered ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(block.split("\n").filter((l) => !l.startsWith(":") && l.includes(": "))
        .map((l) => [l.slice(0, l.indexOf(": ")), l.slice(l.indexOf(": ") + 2)]));
      if (fields.event) yield fields;
    }
  }
}

function followLive(size, prepend, rows, status) {
  const controller = new AbortController();
  live = controller;
  let seen = size, fresh = 0;
  status.textContent = "Live: new entries appear as the ledger logs them.";
  const onEntry = (row) => {
    seen = row.seq + 1;
    fresh += 1;
    document.querySelectorAll("[data-log-size]").forEach((el) => { el.textContent = String(row.seq + 1); });
    if (prepend) {
      rows.prepend(entryRow(row));
      rows.firstChild.classList.add("fresh");
      while (rows.children.length > 50) rows.lastChild.remove();
      status.textContent = `Live: ${fresh} new ${fresh === 1 ? "entry" : "entries"} since this page opened.`;
    } else {
      status.replaceChildren(`Live: ${fresh} new ${fresh === 1 ? "entry" : "entries"} logged. `, link("/", "Show the newest"));
    }
  };
  (async () => {
    while (!controller.signal.aborted) {
      try {
        for await (const event of serverEvents(`/console/api/events?after=${seen}`, controller.signal)) {
          if (event.event === "entry") onEntry(JSON.parse(event.data));
        }
      } catch {
        if (controller.signal.aborted) return;
      }
      status.textContent = "Live feed interrupted; reconnecting...";
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
}

async function checkpointPanel(summary) {
  const note = parseNote(summary.checkpoint);
  const cp = parseCheckpoint(note.text);
  const vkey = await pinned();
  let verdict;
  if (!vkey) verdict = h("p", {}, badge("not-checked"), " ", link("/trust", "Pin the log's key"), " to check the checkpoint's signature in this browser.");
  else {
    try {
      const opened = await openCheckpoint(summary.checkpoint, vkey);
      const history = await consistentWithSeen(opened, vkey);
      verdict = [h("p", {}, badge("pass"), ` Signature by ${vkey.name} verified in this browser (tree size ${opened.size}).`),
        h("p", {}, badge(history.ok ? "pass" : "fail"), ` ${history.detail[0].toUpperCase()}${history.detail.slice(1)}.`)];
    } catch (error) {
      verdict = h("p", {}, badge("fail"), ` ${error.message}`);
    }
  }
  const witnesses = note.signatures.map((x) => x.name).filter((n) => n !== cp.origin);
  let lastWitnessed = "no witness has cosigned a checkpoint of this log";
  if (summary.witnessed) {
    const w = parseNote(summary.witnessed);
    const checks = vkey ? await witnessed(summary.witnessed, vkey) : [];
    lastWitnessed = [`size ${parseCheckpoint(w.text).size}, cosigned by ${w.signatures.map((x) => x.name).filter((n) => n !== cp.origin).join(", ")}`,
      checks.length ? h("ul", { class: "checks" }, checks.map((c) => h("li", {}, badge(c.ok ? "pass" : "fail"), ` ${c.detail}`)))
        : " (pin the witnesses' keys on the Pinned key page to check their cosignatures here)"];
  }
  return h("section", { class: "panel", "aria-labelledby": "cp-title" },
    h("h2", { id: "cp-title" }, "Current checkpoint"),
    h("dl", { class: "facts" },
      h("dt", {}, "Log"), h("dd", {}, cp.origin),
      h("dt", {}, "Size"), h("dd", { "data-log-size": "" }, String(cp.size)),
      h("dt", {}, "Root"), h("dd", {}, h("code", {}, note.text.split("\n")[2])),
      h("dt", {}, "Signed by"), h("dd", {}, note.signatures.map((x) => x.name).join(", ")),
      h("dt", {}, "Witnesses"), h("dd", {}, witnesses.length ? witnesses.join(", ") : "none has cosigned this checkpoint yet"),
      h("dt", {}, "Last witnessed"), h("dd", {}, lastWitnessed)),
    verdict);
}

// The witnessed note must be the log's own (its signature, one history with what this browser saw), then cosigned.
async function witnessed(note, vkey) {
  let history;
  try {
    history = await consistentWithSeen(await openCheckpoint(note, vkey), vkey);
  } catch (error) {
    return [{ ok: false, detail: `the witnessed checkpoint: ${error.message}` }];
  }
  return history.ok ? witnessChecks(note) : [{ ok: false, detail: `the witnessed checkpoint is ${history.detail}` }];
}

function filterForm(params, choices, parties) {
  const field = (name, label, control) => h("div", { class: "field" }, h("label", { for: `f-${name}` }, label), control);
  const local = (iso) => (iso ? new Date(iso).toISOString().slice(0, 16) : "");
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter entries" },
    field("kind", "Type", h("select", { id: "f-kind", name: "kind" },
      h("option", { value: "" }, "any type"),
      choices.kind.map((k) => h("option", { value: k, selected: params.get("kind") === k }, k)))),
    field("party", "Party", h("input", { id: "f-party", name: "party", list: "f-parties", value: params.get("party") || "", placeholder: "name or DID" })),
    h("datalist", { id: "f-parties" }, [...new Set(parties.map((p) => p.name))].map((n) => h("option", { value: n }))),
    field("contract", "Contract", h("input", { id: "f-contract", name: "contract", value: params.get("contract") || "", placeholder: "sha256:..." })),
    field("run", "Run", h("input", { id: "f-run", name: "run", list: "f-runs", value: params.get("run") || "" })),
    h("datalist", { id: "f-runs" }, choices.run.map((r) => h("option", { value: r }))),
    field("since", "Logged since (UTC)", h("input", { id: "f-since", name: "since", type: "datetime-local", value: local(params.get("since")) })),
    field("until", "Logged before (UTC)", h("input", { id: "f-until", name: "until", type: "datetime-local", value: local(params.get("until")) })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply filters"), " ", link("/", "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const name of FILTERS) {
      const value = form.elements[name].value.trim();
      if (value) next.set(name, name === "since" || name === "until" ? `${value}:00Z` : value);
    }
    go(`/entries?${next}`);
  });
  return form;
}
