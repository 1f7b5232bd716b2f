// The pinned log key: what every check in the console runs against, kept in this browser only.

import { api, badge, h, link, short, show } from "../util.js";
import { parseVkey } from "../verify.js";

const VKEY = "depa.console.vkey";

export async function pinned() {
  const text = localStorage.getItem(VKEY);
  if (!text) return null;
  try { return await parseVkey(text); } catch { return null; }
}

export async function showTrust() {
  const vkey = await pinned();
  const box = document.getElementById("trust");
  box.replaceChildren(vkey
    ? h("span", {}, "Pinned key: ", h("code", {}, short(vkey.text, 40)))
    : link("/trust", "No log key pinned: nothing can be verified yet", { class: "warn" }));
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
    h("p", { class: "hint" }, "This server says its key is ", h("code", {}, summary.served_vkey), ". Compare it with yours: a server that lies would say its own."));
}
