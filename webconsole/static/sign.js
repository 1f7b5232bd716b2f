// Signing in the browser: the party's key file is read here and never leaves the page. A statement is
// signed with WebCrypto Ed25519 over its RFC 8785 (JCS) bytes, exactly as schemas.statement.sign does.

import { b64decode, b64encode, concat } from "./util.js";

// RFC 8785: sorted keys (UTF-16 code unit order, which Array.prototype.sort uses), ECMAScript number and
// string serialisation, no whitespace.
export function canonicalize(value) {
  if (typeof value === "number" && !Number.isFinite(value)) throw new Error("JSON has no NaN or Infinity");
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(",")}]`;
  const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(value[k])}`).join(",")}}`;
}

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

export function base58btc(bytes) {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = "";
  while (n > 0n) { out = ALPHABET[Number(n % 58n)] + out; n /= 58n; }
  for (const b of bytes) { if (b !== 0) break; out = `1${out}`; }
  return out;
}

// did:key of an Ed25519 public key: multicodec 0xed01, base58btc.
export const didKey = (publicKey) => `did:key:z${base58btc(concat(new Uint8Array([0xed, 0x01]), publicKey))}`;

// An unencrypted PKCS#8 PEM Ed25519 key, as `depa-chain keys new` writes it.
export async function loadSigner(pem) {
  const m = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
  if (!m) throw new Error("the key file is not an unencrypted PKCS#8 PEM private key (BEGIN PRIVATE KEY)");
  let key;
  try {
    key = await crypto.subtle.importKey("pkcs8", b64decode(m[1].replace(/\s/g, "")), { name: "Ed25519" }, true, ["sign"]);
  } catch {
    throw new Error("the key file does not hold an Ed25519 private key");
  }
  const jwk = await crypto.subtle.exportKey("jwk", key);
  return { key, did: didKey(b64decode(jwk.x)) };
}

const iat = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

// The statement to post, as schemas.statement.sign builds it.
export async function signStatement(signer, kind, body) {
  const unsigned = { typ: `depa/${kind}@1`, iss: signer.did, iat: iat(), body };
  const bytes = new TextEncoder().encode(canonicalize(unsigned));
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, signer.key, bytes));
  return { ...unsigned, sig: b64encode(sig, true) };
}

// sha256:<hex> of a document's JCS bytes: a contract's id.
export async function contractId(doc) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalize(doc))));
  return `sha256:${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
