// Shared helpers: the admin API client, safe DOM building (text only, never HTML), formats.

export const session = { role: null, csrf: null };

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// Calls a documented admin API route (or the console's session routes) with the session cookie.
export async function api(method, path, body) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && session.csrf) headers["x-csrf-token"] = session.csrf;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const message = data && data.error ? (data.error.message || String(data.error)) : `HTTP ${response.status}`;
    if (response.status === 401 && !path.endsWith("/login")) window.dispatchEvent(new Event("console:logged-out"));
    throw new ApiError(response.status, message);
  }
  return data;
}

// el("a", {href: "#", class: "x", onclick: fn}, "text", child...) — strings become text nodes.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) { node.replaceChildren(); return node; }

export function announce(text) {
  const status = document.getElementById("status");
  status.textContent = text;
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => { status.textContent = ""; }, 5000);
}

export const fmt = {
  usd(v) {
    if (v === null || v === undefined) return "—";
    if (v > 0 && v < 0.01) return "$" + Number(v).toPrecision(2).replace(/0+$/, "");  // fractions of a cent
    const digits = Math.abs(v) < 1 ? 4 : 2;
    return "$" + Number(v).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: digits });
  },
  int(v) { return v === null || v === undefined ? "—" : Number(v).toLocaleString(); },
  ms(v) { return v === null || v === undefined ? "—" : `${Math.round(v).toLocaleString()} ms`; },
  pct(v) { return v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`; },
  time(v) { return v ? new Date(v).toLocaleString() : "—"; },
};

export function zoneName() { return Intl.DateTimeFormat().resolvedOptions().timeZone || "local time"; }

// A table: columns [{label, value: row => node|string, class?}], rows, and an optional row action.
export function table(caption, columns, rows, onOpen) {
  const head = el("tr", {}, columns.map(c => el("th", { scope: "col", class: c.class }, c.label)));
  const body = el("tbody", {}, rows.map(row => {
    const tr = el("tr", {}, columns.map(c => el("td", { class: c.class, "data-label": c.label }, c.value(row))));
    if (onOpen) {
      tr.tabIndex = 0;
      tr.classList.add("clickable");
      tr.addEventListener("click", event => { if (!event.target.closest("a,button")) onOpen(row); });
      tr.addEventListener("keydown", event => {
        if ((event.key === "Enter" || event.key === " ") && event.target === tr) { event.preventDefault(); onOpen(row); }
      });
    }
    return tr;
  }));
  return el("div", { class: "table-wrap" },
    el("table", {}, el("caption", { class: "sr-only" }, caption), el("thead", {}, head), body));
}

export function empty(text, ...extra) {
  return el("div", { class: "empty", role: "note" }, el("p", {}, text), ...extra);
}

export function curlExample() {
  const cmd = `curl ${location.origin}/v1/chat/completions \\\n  -H "Authorization: Bearer $LLM_ROUTER_KEY" \\\n` +
    `  -H "Content-Type: application/json" \\\n  -d '{"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "Hello"}]}'`;
  return el("pre", { class: "code" }, el("code", {}, cmd));
}

// A modal dialog; returns {dialog, close}. Content is built by the caller.
export function modal(title, ...content) {
  const id = "dlg-" + Math.random().toString(36).slice(2);
  const dialog = el("dialog", { "aria-labelledby": id },
    el("h2", { id }, title), ...content);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close: () => dialog.close() };
}

export function errorText(error) { return error instanceof ApiError ? error.message : String(error); }

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? "?" + s : "";
}

export function hashParams() {
  const hash = location.hash.slice(1);
  const at = hash.indexOf("?");
  return new URLSearchParams(at >= 0 ? hash.slice(at + 1) : "");
}

export function canWrite() { return session.role === "admin"; }

export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    input.select();
    document.execCommand("copy");
  }
}
