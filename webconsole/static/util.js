// Small helpers every page uses. Elements are built with textContent only: nothing from the ledger is ever
// parsed as HTML.

import { signedFetch } from "./read.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// A JSON API call, signed when a reader key is loaded; an RFC 9457 problem document becomes an ApiError
// carrying its detail and status.
export async function api(path, options = {}) {
  const response = await signedFetch(path, options);
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!response.ok) {
    const detail = body && body.detail ? body.detail : `${response.status} ${response.statusText}`;
    throw new ApiError(detail, response.status);
  }
  return body;
}

export const short = (text, n = 16) => (text && text.length > n + 3 ? `${text.slice(0, n)}...` : text || "");

export function when(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") : "";
}

export function badge(status) {
  return h("span", { class: `badge badge-${status.replace(/[^a-z-]/g, "")}` }, status);
}

export function table(caption, headers, rows) {
  return h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))));
}

export function link(route, text, attrs = {}) {
  return h("a", { href: `#${route}`, ...attrs }, text);
}

export function errorBox(error) {
  return h("p", { class: "error", role: "alert" }, error.message || String(error));
}

// Bytes <-> text encodings the proofs and keys use.
export function b64decode(text) {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "="));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function b64encode(bytes, url = false) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  const text = btoa(bin);
  return url ? text.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "") : text;
}

export const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export const main = document.getElementById("main");

// Replace the page's content; absent parts (null, false) are skipped.
export function show(...parts) {
  main.replaceChildren(...parts.flat().filter((x) => x !== null && x !== undefined && x !== false));
}

export const go = (path) => { location.hash = path; };

// A status line while the server replays the log for a derived view (seconds on a first visit to a large log).
export function replaying() {
  const line = h("p", { class: "loading", role: "status" }, "Reading the log (the first view of a large log replays it once)...");
  main.append(line);
  return line;
}
