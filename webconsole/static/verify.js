// What the browser checks itself, with WebCrypto: RFC 9162 hashes and inclusion proofs, and C2SP signed
// checkpoints under a vkey the user pinned. The server's word is never taken for any of it.

import { b64decode, b64encode, concat, equal, hex, sha256 } from "./util.js";

const enc = new TextEncoder();

// RFC 9162 section 2.1.1: leaf and interior hashes, domain-separated.
export const leafHash = (leaf) => sha256(concat(new Uint8Array([0]), leaf));
export const nodeHash = (left, right) => sha256(concat(new Uint8Array([1]), left, right));

// RFC 9162 section 2.1.3.2: the root an inclusion proof leads to, or null if the proof is malformed.
export async function rootFromInclusion(index, size, leaf, proof) {
  if (index >= size) return null;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

export async function verifyInclusion(index, size, leaf, proof, root) {
  if (![leaf, root, ...proof].every((x) => x.length === 32)) return false; // SHA-256 hashes, nothing else
  const computed = await rootFromInclusion(index, size, leaf, proof);
  return computed !== null && equal(computed, root);
}

const isPowerOfTwo = (n) => { const b = BigInt(n); return b > 0n && (b & (b - 1n)) === 0n; };

// RFC 9162 section 2.1.4.2: whether `proof` shows the tree of size2 (root2) extends the one of size1 (root1).
export async function verifyConsistency(size1, size2, root1, root2, proof) {
  if (!proof.every((x) => x.length === 32) || size1 === 0 || size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && equal(root1, root2);
  if (root1.length !== 32 || root2.length !== 32 || proof.length === 0) return false;
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1, sn = size2 - 1;
  while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (fn !== 0 && fn % 2 === 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, root1) && equal(sr, root2);
}

const ED25519 = 0x01, COSIGNATURE_V1 = 0x04; // c2sp.org/signed-note and c2sp.org/tlog-cosignature key types

// c2sp.org/signed-note: a verifier key is name+hex(key id)+base64(type || public key).
export async function parseVkey(text, type = ED25519) {
  // The name holds no "+", the key id is 8 hex digits; the base64 key after them may hold "+" itself.
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text.trim());
  if (!m) throw new Error("a vkey reads name+keyid+key (c2sp.org/signed-note)");
  const [, name, id, key] = m;
  const raw = b64decode(key);
  if (raw.length !== 33 || raw[0] !== type) {
    throw new Error(type === ED25519 ? "a log's vkey is an Ed25519 key (type 0x01, 32 bytes)"
      : "a witness's vkey is a cosignature/v1 key (type 0x04, 32 bytes)");
  }
  const keyId = (await sha256(concat(enc.encode(name + "\n"), raw))).slice(0, 4);
  if (Array.from(keyId, (b) => b.toString(16).padStart(2, "0")).join("") !== id) {
    throw new Error("the vkey's key id does not match its name and key");
  }
  const publicKey = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
  return { name, keyId, publicKey, text: text.trim() };
}

export const parseWitnessVkey = (text) => parseVkey(text, COSIGNATURE_V1);

// c2sp.org/tlog-cosignature: the witness's cosignature/v1 on a note, and the time it signed; throws why not.
export async function verifyCosignature(note, witness) {
  const parsed = parseNote(note);
  const sig = parsed.signatures.find((x) => x.name === witness.name && equal(x.keyId, witness.keyId));
  if (!sig) throw new Error(`no cosignature by ${witness.name}`);
  if (sig.signature.length !== 72) throw new Error(`the cosignature by ${witness.name} is not a timestamp and a signature`);
  const time = new DataView(sig.signature.buffer, sig.signature.byteOffset, 8).getBigUint64(0);
  const message = enc.encode(`cosignature/v1\ntime ${time}\n${parsed.text}`);
  const good = await crypto.subtle.verify({ name: "Ed25519" }, witness.publicKey, sig.signature.slice(8), message);
  if (!good) throw new Error(`the cosignature by ${witness.name} does not verify`);
  return new Date(Number(time) * 1000);
}

// A signed note: text up to the last blank line, then one "— name base64(keyid || signature)" line each.
export function parseNote(note) {
  const cut = note.lastIndexOf("\n\n");
  if (!note.endsWith("\n") || cut < 0) throw new Error("not a signed note");
  const text = note.slice(0, cut + 1);
  const signatures = note.slice(cut + 2).split("\n").filter(Boolean).map((line) => {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new Error(`malformed signature line: ${line.slice(0, 40)}`);
    const raw = b64decode(m[2]);
    return { name: m[1], keyId: raw.slice(0, 4), signature: raw.slice(4) };
  });
  return { text, signatures };
}

// c2sp.org/tlog-checkpoint: origin, size, base64 root, then extension lines.
export function parseCheckpoint(text) {
  const lines = text.split("\n");
  if (lines.length < 4 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new Error("not a checkpoint");
  const root = b64decode(lines[2]);
  if (root.length !== 32) throw new Error("the checkpoint root is not 32 bytes");
  return { origin: lines[0], size: Number(lines[1]), root };
}

// The checkpoint in `note` if the pinned key signed it; throws saying why not.
export async function openCheckpoint(note, vkey) {
  const parsed = parseNote(note);
  const sig = parsed.signatures.find((x) => x.name === vkey.name && equal(x.keyId, vkey.keyId));
  if (!sig) throw new Error(`the checkpoint carries no signature by the pinned key ${vkey.name}`);
  const good = await crypto.subtle.verify({ name: "Ed25519" }, vkey.publicKey, sig.signature, enc.encode(parsed.text));
  if (!good) throw new Error("the checkpoint's Ed25519 signature does not verify under the pinned key");
  const cp = parseCheckpoint(parsed.text);
  if (cp.origin !== vkey.name) throw new Error(`the checkpoint is for ${cp.origin}, not ${vkey.name}`);
  return { ...cp, signers: parsed.signatures.map((x) => x.name) };
}

// Every check behind "this receipt's entry is in the log the pinned key signed", each with its result.
// `receipt` is the ledger's JSON receipt: seq, leaf (base64 entry bytes), leaf_hash, proof, checkpoint.
export async function checkReceipt(receipt, vkey) {
  const checks = [];
  const step = (name, ok, detail) => { checks.push({ name, ok, detail }); return ok; };
  const result = (entry = null, checkpoint = null) => ({ ok: checks.every((c) => c.ok), checks, entry, checkpoint });
  const leaf = b64decode(receipt.leaf);
  let entry = null;
  try { entry = JSON.parse(new TextDecoder().decode(leaf)); } catch { entry = null; }
  if (!step("entry bytes", entry !== null && entry.seq === receipt.seq,
    entry ? `${leaf.length} bytes of entry ${entry.seq}` : "the entry bytes are not JSON")) return result();
  const hash = await leafHash(leaf);
  step("leaf hash", b64encode(hash) === receipt.leaf_hash, `SHA-256(0x00 || entry) = ${hex(hash).slice(0, 16)}...`);
  let cp;
  try {
    cp = await openCheckpoint(receipt.checkpoint, vkey);
    step("checkpoint signature", true, `Ed25519 by the pinned key ${vkey.name}; tree size ${cp.size}`);
  } catch (error) {
    step("checkpoint signature", false, error.message);
    return result(entry);
  }
  let path = null;
  try { path = receipt.proof.map(b64decode); } catch { path = null; }
  const ok = path !== null && (await verifyInclusion(receipt.seq, cp.size, hash, path, cp.root));
  step("inclusion proof", ok, ok ? `${path.length} hashes lead from the leaf to the signed root`
    : "the inclusion proof does not lead to the signed root");
  return result(entry, cp);
}
