// The console's pages, one function each, routed by the URL fragment. Data comes from /console/api (what to
// show) and /v1 (what to check); every check runs here, against the key the user pinned.

import { renderBudget } from "./chart.js";
import { renderGraph } from "./graph.js";
import { contractId, loadSigner, signStatement } from "./sign.js";
import { api, badge, errorBox, h, link, short, table, when } from "./util.js";
import { checkReceipt, openCheckpoint, parseCheckpoint, parseNote, parseVkey } from "./verify.js";

const main = document.getElementById("main");
const VKEY = "depa.console.vkey";
const TOKEN = "depa.console.token";
let live = null; // the explorer's EventSource, closed when the page changes

// --- the pinned key and the runner's token --------------------------------------------------------------

async function pinned() {
  const text = localStorage.getItem(VKEY);
  if (!text) return null;
  try { return await parseVkey(text); } catch { return null; }
}

async function showTrust() {
  const vkey = await pinned();
  const box = document.getElementById("trust");
  box.replaceChildren(vkey
    ? h("span", {}, "Pinned key: ", h("code", {}, short(vkey.text, 40)))
    : link("/trust", "No log key pinned: nothing can be verified yet", { class: "warn" }));
}

function takeToken() {
  const m = /^#token=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN, m[1]);
    history.replaceState(null, "", `${location.pathname}#/scenarios`);
  }
}

const authed = (options = {}) => ({
  ...options, headers: { ...(options.headers || {}), Authorization: `Bearer ${sessionStorage.getItem(TOKEN) || ""}` },
});

// --- routing --------------------------------------------------------------------------------------------

const routes = [
  [/^\/(entries)?$/, explorer],
  [/^\/entry\/(\d+)$/, entryPage],
  [/^\/contracts$/, contractsPage],
  [/^\/contract\/(.+)$/, contractPage],
  [/^\/lineage(?:\/(.+))?$/, lineagePage],
  [/^\/budgets(?:\/(.+))?$/, budgetsPage],
  [/^\/audit(?:\/(.+))?$/, auditPage],
  [/^\/scenarios$/, scenariosPage],
  [/^\/trust$/, trustPage],
];

async function route() {
  if (live) { live.close(); live = null; }
  const raw = location.hash.slice(1) || "/";
  const [path, query] = raw.split("?");
  const params = new URLSearchParams(query || "");
  for (const a of document.querySelectorAll("nav a")) {
    const here = a.getAttribute("href").slice(1);
    a.toggleAttribute("aria-current", here === "/" ? path === "/" || path.startsWith("/entr") : path.startsWith(here));
  }
  for (const [pattern, page] of routes) {
    const m = pattern.exec(path);
    if (!m) continue;
    show(h("p", { class: "loading", role: "status" }, "Loading..."));
    try {
      await page(params, ...m.slice(1).map((x) => (x && x !== "entries" ? decodeURIComponent(x) : undefined)));
    } catch (error) {
      show(h("h1", {}, "Something went wrong"), errorBox(error));
    }
    main.focus({ preventScroll: true });
    return;
  }
  show(h("h1", {}, "Not found"), h("p", {}, `The console has no page ${path}.`));
}

const go = (path) => { location.hash = path; };

// Replace the page's content; absent parts (null, false) are skipped.
function show(...parts) {
  main.replaceChildren(...parts.flat().filter((x) => x !== null && x !== undefined && x !== false));
}

// --- explorer -------------------------------------------------------------------------------------------

const FILTERS = ["kind", "party", "contract", "run", "since", "until"];

async function explorer(params) {
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

function followLive(size, prepend, rows, status) {
  let fresh = 0;
  live = new EventSource(`/console/api/events?after=${size}`);
  status.textContent = "Live: new entries appear as the ledger logs them.";
  live.addEventListener("entry", (event) => {
    const row = JSON.parse(event.data);
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
  });
  live.onerror = () => { status.textContent = "Live feed interrupted; reconnecting..."; };
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
      verdict = h("p", {}, badge("pass"), ` Signature by ${vkey.name} verified in this browser (tree size ${opened.size}).`);
    } catch (error) {
      verdict = h("p", {}, badge("fail"), ` ${error.message}`);
    }
  }
  const witnesses = note.signatures.map((x) => x.name).filter((n) => n !== cp.origin);
  let lastWitnessed = "no witness has cosigned a checkpoint of this log";
  if (summary.witnessed) {
    const w = parseNote(summary.witnessed);
    lastWitnessed = `size ${parseCheckpoint(w.text).size}, cosigned by ${w.signatures.map((x) => x.name).filter((n) => n !== cp.origin).join(", ")} (names as the note gives them; depa-audit witness checks cosignatures)`;
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

// --- one entry, verified here ---------------------------------------------------------------------------

async function entryPage(params, seqText) {
  const seq = Number(seqText);
  const shown = await api(`/console/api/entries/${seq}`);
  const r = shown.row;
  const results = h("ul", { class: "checks", "aria-live": "polite" });
  const verdict = h("p", { class: "verdict", role: "status" });
  const statement = h("pre", { class: "json", tabindex: 0 }, JSON.stringify(shown.statement, null, 2));
  const source = h("p", { class: "hint" }, "As the server sent it: not verified.");
  const verify = async () => {
    const vkey = await pinned();
    results.replaceChildren();
    if (!vkey) {
      verdict.replaceChildren(badge("not-checked"), " No log key pinned: ", link("/trust", "pin one"), " to verify this entry here.");
      return;
    }
    verdict.replaceChildren("Verifying...");
    const receipt = await api(`/v1/entries/${seq}/receipt`);
    const outcome = await checkReceipt(receipt, vkey);
    results.replaceChildren(...outcome.checks.map((c) => h("li", {}, badge(c.ok ? "pass" : "fail"), ` ${c.name}: ${c.detail}`)));
    if (outcome.ok) {
      statement.textContent = JSON.stringify(outcome.entry.statement, null, 2);
      source.textContent = "Read from the entry bytes verified above.";
      verdict.replaceChildren(badge("pass"), ` Verified in this browser: entry ${seq} is in the log ${vkey.name} signed at size ${outcome.checkpoint.size}.`);
    } else {
      verdict.replaceChildren(badge("fail"), ` NOT verified: ${outcome.checks.find((c) => !c.ok).detail}.`);
    }
  };
  const receiptText = await (await fetch(`/v1/entries/${seq}/receipt`, { headers: { Accept: "text/x.tlog-proof" } })).text();
  const download = URL.createObjectURL(new Blob([receiptText], { type: "text/plain" }));
  const signer = shown.signer;
  show(
    h("h1", {}, `Entry ${seq}: `, h("code", {}, r.kind)),
    h("dl", { class: "facts" },
      h("dt", {}, "Logged at"), h("dd", {}, when(r.logged_at)),
      h("dt", {}, "Signed by"), h("dd", {}, signer ? `${signer.name} (${signer.roles.join(", ")})` : r.signer_name || "a key no registered party holds"),
      h("dt", {}, "Signer DID"), h("dd", {}, h("code", {}, r.signer)),
      r.contract ? [h("dt", {}, "Contract"), h("dd", {}, link(`/contract/${encodeURIComponent(r.contract)}`, r.contract))] : null,
      r.run ? [h("dt", {}, "Run"), h("dd", {}, link(`/entries?run=${encodeURIComponent(r.run)}`, r.run))] : null,
      h("dt", {}, "Says"), h("dd", {}, r.summary || "-")),
    h("section", { class: "panel", "aria-labelledby": "v-title" },
      h("h2", { id: "v-title" }, "Verified in this browser"),
      h("p", { class: "hint" }, "The page hashes the entry's bytes, checks the checkpoint's Ed25519 signature against your pinned key with WebCrypto, and walks the RFC 9162 inclusion proof to the signed root."),
      verdict, results,
      h("button", { type: "button", onclick: verify }, "Verify again")),
    h("h2", {}, "Statement"), source, statement,
    h("h2", {}, "Receipt"),
    h("p", { class: "hint" }, "A C2SP tlog-proof: checks offline with ", h("code", {}, "depa-chain receipt verify"), "."),
    h("pre", { class: "receipt", tabindex: 0 }, receiptText),
    h("a", { href: download, download: `entry-${seq}.tlog-proof` }, "Download the receipt"),
    h("p", {}, seq > 0 ? link(`/entry/${seq - 1}`, "Previous entry") : null, " ", link(`/entry/${seq + 1}`, "Next entry")));
  await verify();
}

// --- contracts ------------------------------------------------------------------------------------------

async function contractsPage() {
  const contracts = await api("/console/api/contracts");
  show(
    h("h1", {}, "Contracts"),
    contracts.length ? table("Every contract proposed on this ledger, newest first",
      ["Contract", "State", "Purpose", "Parties (signed?)", "Datasets", "Proposed"],
      contracts.map((c) => [
        link(`/contract/${encodeURIComponent(c.id)}`, c.name, { title: c.id }),
        badge(c.state), c.purpose,
        h("ul", { class: "inline" }, c.parties.map((p) => h("li", {}, `${p.name || short(p.ref, 20)} (${p.role}): `, p.signed_seq !== null ? "signed" : "not yet"))),
        String(c.datasets), link(`/entry/${c.proposed_seq}`, `entry ${c.proposed_seq}`),
      ])) : h("p", {}, "No contract has been proposed yet."),
    proposeForm());
}

function keyField(id) {
  return h("div", { class: "field" },
    h("label", { for: id }, "Your key file (Ed25519 PKCS#8 PEM): read in this browser, never uploaded"),
    h("input", { id, type: "file", accept: ".pem,.key,text/plain", required: true }));
}

async function readKey(input) {
  const file = input.files[0];
  if (!file) throw new Error("choose your key file first");
  return loadSigner(await file.text());
}

function proposeForm() {
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "panel", "aria-labelledby": "p-title" },
    h("h2", { id: "p-title" }, "Propose a contract"),
    h("div", { class: "field" }, h("label", { for: "p-doc" }, "Contract (JSON)"), h("input", { id: "p-doc", type: "file", accept: ".json,application/json", required: true })),
    keyField("p-key"),
    h("button", { type: "submit" }, "Sign and propose"), out);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(out, async () => {
      const doc = JSON.parse(await form.querySelector("#p-doc").files[0].text());
      const signer = await readKey(form.querySelector("#p-key"));
      const { receipt, verified } = await post(await signStatement(signer, "contract.propose", { contract: doc }));
      const id = await contractId(doc);
      return { receipt, said: [link(`/contract/${encodeURIComponent(id)}`, `Contract ${id}`), ` proposed as entry ${receipt.seq}`, verifiedNote(receipt, verified)] };
    });
  });
  return form;
}

// Run a signing action (it returns what to say and the ledger's receipt), then show both.
async function submit(out, action) {
  out.replaceChildren(h("p", { role: "status" }, "Signing in this browser..."));
  try {
    const { said, receipt } = await action();
    out.replaceChildren(h("p", { role: "status", class: "done" }, ...said),
      h("details", { open: true }, h("summary", {}, "The receipt"), h("pre", { class: "json receipt", tabindex: 0 }, JSON.stringify(receipt, null, 2))));
  } catch (error) {
    out.replaceChildren(errorBox(error));
  }
}

const verifiedNote = (receipt, verified) => (verified
  ? `, receipt verified in this browser under checkpoint size ${parseCheckpoint(parseNote(receipt.checkpoint).text).size}.`
  : ". Pin the log's key to have its receipt verified here.");

// Post a signed statement; with a pinned key, its receipt must verify and hold this very statement.
async function post(statement) {
  const receipt = await api("/v1/statements", {
    method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(statement),
  });
  const vkey = await pinned();
  if (vkey) {
    const outcome = await checkReceipt(receipt, vkey);
    if (!outcome.ok || outcome.entry.statement.sig !== statement.sig) {
      throw new Error(`the ledger's receipt for entry ${receipt.seq} does not verify: ${outcome.checks.find((c) => !c.ok)?.detail || "it logged another statement"}`);
    }
  }
  return { receipt, verified: vkey !== null };
}

async function contractPage(params, id) {
  const [view, parties] = await Promise.all([api(`/v1/contracts/${encodeURIComponent(id)}`), api("/v1/parties")]);
  const c = view.contract;
  const nameOf = (ref) => parties.find((p) => p.did === ref || p.aliases.includes(ref) || p.former_dids.includes(ref))?.name || short(ref, 24);
  const caps = Object.fromEntries((c.constraints || []).flatMap((k) => k.privacy || []).map((p) => [p.dataset, p]));
  const ccr = c.ccr || {};
  const out = h("div", { "aria-live": "polite" });
  const signForm = h("form", { class: "panel", "aria-labelledby": "s-title" },
    h("h2", { id: "s-title" }, "Sign this contract"),
    h("p", { class: "hint" }, "Signs depa/contract.sign@1 over its RFC 8785 bytes with WebCrypto Ed25519, posts it, and checks the receipt here."),
    keyField("s-key"), h("button", { type: "submit" }, "Sign the contract"), out);
  signForm.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(out, async () => {
      const signer = await readKey(signForm.querySelector("#s-key"));
      const { receipt, verified } = await post(await signStatement(signer, "contract.sign", { contract_id: id }));
      return { receipt, said: [`Signed as ${nameOf(signer.did)}: `, link(`/entry/${receipt.seq}`, `entry ${receipt.seq}`), verifiedNote(receipt, verified)] };
    });
  });
  show(
    h("h1", {}, `Contract ${c.id} `, badge(view.state)),
    h("dl", { class: "facts" },
      h("dt", {}, "Id"), h("dd", {}, h("code", {}, view.id)),
      h("dt", {}, "Purpose"), h("dd", {}, c.purpose),
      h("dt", {}, "Term"), h("dd", {}, `${when(c.startTime)} to ${when(c.expiryTime)}`),
      h("dt", {}, "Proposed"), h("dd", {}, `by ${nameOf(view.proposer)} in `, link(`/entry/${view.proposed_seq}`, `entry ${view.proposed_seq}`)),
      h("dt", {}, "In force"), h("dd", {}, view.activated_at ? `since ${when(view.activated_at)}` : `waiting for ${view.unsigned.map(nameOf).join(", ")}`)),
    h("p", {}, link(`/budgets/${encodeURIComponent(view.id)}`, "Budgets"), " \u00b7 ", link(`/audit/${encodeURIComponent(view.id)}`, "Audit"), " \u00b7 ",
      link(`/entries?contract=${encodeURIComponent(view.id)}`, "Its entries")),
    table("Parties and signatures", ["Party", "Role", "Signed"],
      Object.entries({ [c.ccrp]: "CCRP", [c.tdc]: "TDC", ...Object.fromEntries(c.tdps.map((t) => [t, "TDP"])) }).map(([ref, role]) => {
        const sig = view.signatures.find((x) => x.party === ref);
        return [nameOf(ref), role, sig ? link(`/entry/${sig.seq}`, `entry ${sig.seq}, ${when(sig.logged_at)}`) : "not yet"];
      })),
    table("Datasets and their privacy caps", ["Dataset", "Name", "Provider", "\u03b5 cap", "\u03b4"],
      c.datasets.map((d) => [h("code", {}, d.id), d.name, nameOf(d.provider || d.owner), caps[d.id]?.epsilon_threshold ?? "none", caps[d.id]?.delta ?? ""])),
    h("section", { class: "panel", "aria-labelledby": "ccr-title" },
      h("h2", { id: "ccr-title" }, "Allowed clean rooms"),
      h("dl", { class: "facts" },
        h("dt", {}, "Measurements"), h("dd", {}, (ccr.measurements || []).length ? ccr.measurements.map((m) => h("code", { class: "block" }, m)) : "any"),
        h("dt", {}, "Host data"), h("dd", {}, (ccr.host_data || []).length ? ccr.host_data.map((m) => h("code", { class: "block" }, m)) : "any"),
        h("dt", {}, "Minimum TCB"), h("dd", {}, ccr.min_tcb ? JSON.stringify(ccr.min_tcb) : "none"),
        h("dt", {}, "Simulated TEE"), h("dd", {}, ccr.allow_simulated ? [badge("insecure"), " allowed: a simulated clean room proves nothing about confidentiality"] : "refused"),
        h("dt", {}, "Output recipients"), h("dd", {}, (c.recipients || []).map(nameOf).join(", ") || "none"))),
    view.state === "pending" ? signForm : null,
    h("details", {}, h("summary", {}, "The contract as proposed (JSON)"), h("pre", { class: "json", tabindex: 0 }, JSON.stringify(c, null, 2))));
}

// --- lineage --------------------------------------------------------------------------------------------

async function lineagePage(params, digest) {
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
  const graph = await api(`/console/api/lineage/${encodeURIComponent(digest)}?direction=${direction}`);
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

// --- budgets --------------------------------------------------------------------------------------------

async function contractPicker(prefix, chosen, label) {
  const contracts = await api("/console/api/contracts");
  const pick = h("select", { id: `${prefix}-c` }, h("option", { value: "" }, "choose a contract"),
    contracts.map((c) => h("option", { value: c.id, selected: c.id === chosen }, `${c.name} (${c.state}, ${short(c.id.slice(7), 10)})`)));
  const form = h("form", { class: "filters", "aria-label": label },
    h("div", { class: "field" }, h("label", { for: `${prefix}-c` }, "Contract"), pick),
    h("div", { class: "actions" }, h("button", { type: "submit" }, label)));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (pick.value) go(`/${prefix === "b" ? "budgets" : "audit"}/${encodeURIComponent(pick.value)}`);
  });
  return form;
}

async function budgetsPage(params, cid) {
  show(h("h1", {}, "Privacy budgets"), await contractPicker("b", cid, "Show budgets"));
  if (!cid) return;
  const [now, history] = await Promise.all([api(`/v1/contracts/${encodeURIComponent(cid)}/budget`), api(`/console/api/contracts/${encodeURIComponent(cid)}/budget`)]);
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

// --- audit ----------------------------------------------------------------------------------------------

async function auditPage(params, cid) {
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

// --- scenarios (depa-chain console only) ----------------------------------------------------------------

async function scenariosPage() {
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
    form.addEventListener("submit", (event) => { event.preventDefault(); sessionStorage.setItem(TOKEN, input.value.trim()); route(); });
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
        if (item.line.startsWith("step: ")) {
          steps.lastChild?.classList.add("done");
          steps.append(h("li", { class: "current" }, item.line.slice(6)));
          status.textContent = item.line.slice(6);
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

// --- the pinned key -------------------------------------------------------------------------------------

async function trustPage() {
  const summary = await api("/console/api/summary");
  const input = h("input", { id: "vkey", value: localStorage.getItem(VKEY) || "", size: 70, spellcheck: "false", autocomplete: "off", required: true });
  const out = h("p", { role: "status" });
  const form = h("form", { class: "panel" },
    h("div", { class: "field" }, h("label", { for: "vkey" }, "The log's vkey (c2sp.org/signed-note), as its operator gave it to you"), input),
    h("button", { type: "submit" }, "Pin this key"), " ",
    h("button", { type: "button", onclick: () => { localStorage.removeItem(VKEY); input.value = ""; out.textContent = "No key pinned."; showTrust(); } }, "Forget it"), out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const vkey = await parseVkey(input.value);
      localStorage.setItem(VKEY, vkey.text);
      out.replaceChildren(badge("pass"), ` Pinned ${vkey.name}. Every check on these pages now runs against it.`);
      showTrust();
    } catch (error) {
      out.replaceChildren(badge("fail"), ` ${error.message}`);
    }
  });
  show(h("h1", {}, "Pinned log key"),
    h("p", {}, "The console checks checkpoints, proofs and receipts in this browser against the key pinned here, kept in this browser only. Pin the key the log's operator gave you, not one this page shows."),
    form,
    h("p", { class: "hint" }, "This server says its key is ", h("code", {}, summary.served_vkey), ". Compare it with yours: a server that lies would say its own."));
}

// --- start ----------------------------------------------------------------------------------------------

takeToken();
window.addEventListener("hashchange", route);
showTrust();
route();
