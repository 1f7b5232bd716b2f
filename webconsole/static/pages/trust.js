// The pinned log key: what every check in the console runs against, kept in this browser only.

import { signedFetch } from "../read.js";
import { api, b64decode, b64encode, badge, h, link, short, show } from "../util.js";
import { checkReceipt, parseVkey, parseWitnessVkey, verifyConsistency, verifyCosignature } from "../verify.js";

const VKEY = "depa.console.vkey";

export async function pinned() {
  const text = localStorage.getItem(VKEY);
  if (!text) return null;
  try { return await parseVkey(text); } catch { return null; }
}

const SEEN = "depa.console.seen:"; // + the pinned vkey: the largest checkpoint verified under it, {size, root}

// Whether checkpoint `cp` (already verified under `vkey`) and the largest one this browser verified before are
// one history, by an RFC 9162 consistency proof; the larger of the two is remembered. Like a tlog client's
// state file: a log that forks or rolls back for this browser is caught here.
export async function consistentWithSeen(cp, vkey) {
  const name = "consistency with what this browser saw";
  const key = SEEN + vkey.text;
  const remember = () => localStorage.setItem(key, JSON.stringify({ size: cp.size, root: b64encode(cp.root) }));
  const stored = JSON.parse(localStorage.getItem(key) || "null");
  if (!stored) {
    remember();
    return { name, ok: true, detail: `the first checkpoint of ${vkey.name} this browser has seen (size ${cp.size}); remembered` };
  }
  const seen = { size: stored.size, root: b64decode(stored.root) };
  const [older, newer] = seen.size <= cp.size ? [seen, cp] : [cp, seen];
  let ok = older.size === newer.size && b64encode(older.root) === b64encode(newer.root);
  if (older.size < newer.size) {
    const response = await signedFetch(`/v1/proofs/consistency?first=${older.size}&second=${newer.size}`);
    const proof = response.ok ? (await response.json()).proof.map(b64decode) : null;
    ok = proof !== null && (await verifyConsistency(older.size, newer.size, older.root, newer.root, proof));
  }
  if (ok && cp.size > seen.size) remember();
  return {
    name, ok,
    detail: ok ? `one history with the checkpoint of size ${seen.size} this browser verified before`
      : `NOT one history with the checkpoint of size ${seen.size} this browser verified before: the log forked or rolled back`,
  };
}

// A receipt checked as verify.js checks it, and its checkpoint against the history this browser saw.
export async function checkWithHistory(receipt, vkey) {
  const outcome = await checkReceipt(receipt, vkey);
  if (outcome.checkpoint) {
    const check = await consistentWithSeen(outcome.checkpoint, vkey);
    outcome.checks.push(check);
    outcome.ok = outcome.ok && check.ok;
  }
  return outcome;
}

export async function showTrust() {
  const vkey = await pinned();
  const box = document.getElementById("trust");
  box.replaceChildren(vkey
    ? h("span", {}, "Pinned key: ", h("code", {}, short(vkey.text, 40)))
    : link("/trust", "No log key pinned: nothing can be verified yet", { class: "warn" }));
}

const WITNESSES = "depa.console.witnesses"; // the witnesses' cosignature/v1 vkeys, one a line

export async function pinnedWitnesses() {
  const lines = (localStorage.getItem(WITNESSES) || "").split("\n").filter(Boolean);
  return Promise.all(lines.map(parseWitnessVkey));
}

// What each pinned witness says of a witnessed checkpoint note: cosigned (and when), or why not.
export async function witnessChecks(note) {
  return Promise.all((await pinnedWitnesses()).map(async (w) => {
    try {
      const at = await verifyCosignature(note, w);
      return { ok: true, detail: `${w.name} cosigned it at ${at.toISOString().replace(".000Z", "Z")}, verified in this browser` };
    } catch (error) {
      return { ok: false, detail: error.message };
    }
  }));
}

function witnessForm() {
  const area = h("textarea", { id: "witnesses", rows: 3, cols: 70, spellcheck: "false" }, localStorage.getItem(WITNESSES) || "");
  const out = h("p", { role: "status" });
  const form = h("form", { class: "panel" },
    h("div", { class: "field" }, h("label", { for: "witnesses" }, "Witnesses' vkeys (c2sp.org/tlog-cosignature, type 0x04), one a line; optional"), area),
    h("button", { type: "submit" }, "Pin these witnesses"), out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const lines = area.value.split("\n").map((x) => x.trim()).filter(Boolean);
    try {
      const keys = await Promise.all(lines.map(parseWitnessVkey));
      localStorage.setItem(WITNESSES, keys.map((k) => k.text).join("\n"));
      out.replaceChildren(badge("pass"), ` Pinned ${keys.length} ${keys.length === 1 ? "witness" : "witnesses"}: ${keys.map((k) => k.name).join(", ") || "none"}.`);
    } catch (error) {
      out.replaceChildren(badge("fail"), ` ${error.message}`);
    }
  });
  return form;
}

export async function trustPage() {
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
    h("p", { class: "hint" }, "This server says its key is ", h("code", {}, summary.served_vkey), ". Compare it with yours: a server that lies would say its own."),
    witnessForm());
}
