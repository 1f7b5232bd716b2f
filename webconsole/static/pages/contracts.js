// Contracts: the list, one contract's terms, and signing or proposing with a key file read only here.

import { contractId, loadSigner, signStatement } from "../sign.js";
import { api, badge, errorBox, go, h, link, short, show, table, when } from "../util.js";
import { parseCheckpoint, parseNote } from "../verify.js";
import { checkWithHistory, pinned } from "./trust.js";

export async function contractsPage() {
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

async function readJson(input) {
  const file = input.files[0];
  if (!file) throw new Error("choose the contract file first");
  try {
    return JSON.parse(await file.text());
  } catch (error) {
    throw new Error(`${file.name} is not JSON: ${error.message}`);
  }
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
      const doc = await readJson(form.querySelector("#p-doc"));
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
    const outcome = await checkWithHistory(receipt, vkey);
    if (!outcome.ok || outcome.entry.statement.sig !== statement.sig) {
      throw new Error(`the ledger's receipt for entry ${receipt.seq} does not verify: ${outcome.checks.find((c) => !c.ok)?.detail || "it logged another statement"}`);
    }
  }
  return { receipt, verified: vkey !== null };
}

export async function contractPage(params, id) {
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

export async function contractPicker(prefix, chosen, label) {
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
