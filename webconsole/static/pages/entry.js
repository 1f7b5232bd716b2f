// One entry, verified in this browser from its receipt, with its statement and its C2SP receipt.

import { signedFetch } from "../read.js";
import { api, badge, h, link, show, when } from "../util.js";
import { checkWithHistory, pinned } from "./trust.js";

export async function entryPage(params, seqText) {
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
    const outcome = await checkWithHistory(receipt, vkey);
    results.replaceChildren(...outcome.checks.map((c) => h("li", {}, badge(c.ok ? "pass" : "fail"), ` ${c.name}: ${c.detail}`)));
    if (outcome.ok) {
      statement.textContent = JSON.stringify(outcome.entry.statement, null, 2);
      source.textContent = "Read from the entry bytes verified above.";
      verdict.replaceChildren(badge("pass"), ` Verified in this browser: entry ${seq} is in the log ${vkey.name} signed at size ${outcome.checkpoint.size}.`);
    } else {
      verdict.replaceChildren(badge("fail"), ` NOT verified: ${outcome.checks.find((c) => !c.ok).detail}.`);
    }
  };
  const receiptText = await (await signedFetch(`/v1/entries/${seq}/receipt`, { headers: { Accept: "text/x.tlog-proof" } })).text();
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
