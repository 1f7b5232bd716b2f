// Signed reads (RFC 9421), for a ledger that serves its parties only: every read this page makes carries
// an Ed25519 signature over "@method" "@authority" "@path" "@query" by the key the user loaded, exactly as
// schemas.httpsig.sign_read builds it. The key stays in this page's memory: a reload asks for it again.

import { loadSigner } from "./sign.js";
import { b64encode, h } from "./util.js";

let reader = null; // { key, did } once the user loads a key file

export const readerDid = () => (reader ? reader.did : null);

export async function readAs(pem) {
  reader = await loadSigner(pem);
  return reader.did;
}

async function signatureHeaders(method, url) {
  const covered = '("@method" "@authority" "@path" "@query")';
  const params = `${covered};created=${Math.floor(Date.now() / 1000)};keyid="${reader.did}";alg="ed25519"`;
  const base = [
    `"@method": ${method.toUpperCase()}`,
    `"@authority": ${url.host.toLowerCase()}`,
    `"@path": ${url.pathname}`,
    `"@query": ?${url.search.slice(1)}`,
    `"@signature-params": ${params}`,
  ].join("\n");
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, reader.key, new TextEncoder().encode(base)));
  return { "Signature-Input": `depa=${params}`, Signature: `depa=:${b64encode(sig)}:` };
}

// fetch, a read signed when a key is loaded; statements carry their own signatures.
export async function signedFetch(path, options = {}) {
  if (!reader || (options.method || "GET").toUpperCase() !== "GET") return fetch(path, options);
  const url = new URL(path, location.href);
  const headers = new Headers(options.headers || {});
  for (const [name, value] of Object.entries(await signatureHeaders("GET", url))) headers.set(name, value);
  return fetch(url, { ...options, headers });
}

// What a page shows when the ledger refused to read unsigned or to this key: a key file to read with.
export function readerPrompt(retry) {
  const status = h("p", { role: "status" });
  const input = h("input", { id: "reader-key", type: "file", accept: ".pem,.key,text/plain" });
  input.addEventListener("change", async () => {
    try {
      const did = await readAs(await input.files[0].text());
      status.textContent = `Reading as ${did}.`;
      retry();
    } catch (error) {
      status.textContent = error.message;
    }
  });
  return h("section", { class: "reader" },
    h("p", {}, "This ledger serves its parties only. The console shows the whole log, so it needs an auditor's or the operator's key; each request is signed with it here (RFC 9421) and the key never leaves this page."),
    h("div", { class: "field" }, h("label", { for: "reader-key" }, "Key file to read with (Ed25519 PKCS#8 PEM)"), input),
    status);
}
