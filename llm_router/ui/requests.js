// Requests: the request log, filtered, paginated by cursor; row details; CSV export.
import { api, curlExample, el, empty, fmt, modal, query, table } from "./core.js";

const FILTERS = ["key_id", "team_id", "model", "provider", "outcome", "status", "since", "until"];
const PAGE = 50;

function toIso(local) { return local ? new Date(local).toISOString() : ""; }

function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = n => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function filterForm(params, keys, teams) {
  const id = name => "rf-" + name;
  const opt = (value, label, current) => el("option", { value, selected: value === current }, label);
  const fields = [
    ["Key", el("select", { name: "key_id", id: id("key_id") }, opt("", "any key", params.get("key_id") || ""),
      keys.map(k => opt(k.id, `${k.name} (${k.key_display})`, params.get("key_id"))))],
    ["Team", el("select", { name: "team_id", id: id("team_id") }, opt("", "any team", params.get("team_id") || ""),
      teams.map(t => opt(t.id, t.name, params.get("team_id"))))],
    ["Model", el("input", { name: "model", id: id("model"), value: params.get("model") || "", placeholder: "any" })],
    ["Provider", el("input", { name: "provider", id: id("provider"), value: params.get("provider") || "", placeholder: "any" })],
    ["Outcome", el("select", { name: "outcome", id: id("outcome") }, opt("", "any", params.get("outcome") || ""),
      opt("ok", "success (< 400)", params.get("outcome")), opt("error", "error (≥ 400)", params.get("outcome")))],
    ["Status", el("input", { name: "status", id: id("status"), type: "number", min: "100", max: "599",
      value: params.get("status") || "", placeholder: "any" })],
    ["From", el("input", { name: "since", id: id("since"), type: "datetime-local", value: toLocalInput(params.get("since")) })],
    ["To", el("input", { name: "until", id: id("until"), type: "datetime-local", value: toLocalInput(params.get("until")) })],
  ];
  const formEl = el("form", { class: "filters", role: "search", "aria-label": "Filter requests" },
    fields.map(([label, input]) => el("div", { class: "field" }, el("label", { for: input.id }, label), input)),
    el("div", { class: "actions" }, el("button", { type: "submit" }, "Apply"),
      el("a", { href: "#/requests", class: "button secondary" }, "Clear")));
  formEl.addEventListener("submit", event => {
    event.preventDefault();
    const data = new FormData(formEl);
    const out = {};
    for (const name of FILTERS) {
      const value = String(data.get(name) || "").trim();
      out[name] = name === "since" || name === "until" ? toIso(value) : value;
    }
    location.hash = "#/requests" + query(out);
  });
  return formEl;
}

async function detail(summary, keyName) {
  const row = await api("GET", `/admin/requests/${summary.id}`);
  const items = [
    ["Request id", row.request_id], ["Time", fmt.time(row.created_at)], ["Key", keyName(row.key_id)],
    ["Team", row.team_id || "—"], ["Surface", row.surface], ["Route", row.route || "—"],
    ["Deployment", row.deployment || "—"], ["Provider / model", `${row.provider || "—"} / ${row.model || "—"}`],
    ["Status", String(row.status)], ["Error", row.error_type || "—"],
    ["Latency", fmt.ms(row.latency_ms)], ["Time to first token", fmt.ms(row.ttft_ms)],
    ["Tokens in / out / cached", `${fmt.int(row.input_tokens)} / ${fmt.int(row.output_tokens)} / ${fmt.int(row.cached_tokens)}`],
    ["Usage estimated", row.usage_estimated ? "yes" : "no"], ["Cost", fmt.usd(row.cost_usd)],
    ["Streamed", row.streamed ? "yes" : "no"], ["Cancelled", row.cancelled ? "yes" : "no"],
    ["Possibly billed failed attempts", String(row.possibly_billed_attempts)],
  ];
  const close = el("button", { type: "button", class: "secondary" }, "Close");
  const m = modal("Request details", el("dl", { class: "details" }, items.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    el("p", { class: "small muted" }, "Prompt and completion text are never stored in the ledger."), el("div", { class: "actions" }, close));
  close.addEventListener("click", m.close);
  close.focus();
}

export async function renderRequests(page, params) {
  const filters = Object.fromEntries(FILTERS.map(n => [n, params.get(n) || ""]));
  const [keys, teams] = await Promise.all([api("GET", "/admin/keys?include_revoked=true"), api("GET", "/admin/teams")]);
  const names = Object.fromEntries(keys.data.map(k => [k.id, k.name]));
  const keyName = id => (id ? names[id] || id : "—");
  const exportLink = el("a", { href: "/admin/requests/export.csv" + query(filters), class: "button secondary", download: "" },
    "Export CSV");
  page.append(el("div", { class: "page-head" }, el("h1", {}, "Requests"), exportLink),
    filterForm(params, keys.data, teams.data), el("p", { class: "small muted" }, "Newest first."));
  const cols = [
    { label: "Time", value: r => fmt.time(r.created_at) }, { label: "Key", value: r => keyName(r.key_id) },
    { label: "Model", value: r => r.model || "—" }, { label: "Provider", value: r => r.provider || "—" },
    { label: "Deployment", value: r => r.deployment || "—" },
    { label: "Status", value: r => el("span", { class: "badge " + (r.status >= 400 ? "bad" : "ok") }, String(r.status)) },
    { label: "Tokens in/out", value: r => `${fmt.int(r.input_tokens)} / ${fmt.int(r.output_tokens)}`, class: "num" },
    { label: "Cost", value: r => fmt.usd(r.cost_usd), class: "num" },
    { label: "Latency", value: r => fmt.ms(r.latency_ms), class: "num" },
  ];
  const holder = el("div", { class: "log" });
  page.append(holder);
  let before = null;
  let rows = [];
  const more = el("button", { type: "button", class: "secondary" }, "Load more");
  async function load() {
    more.disabled = true;
    const data = await api("GET", "/admin/requests" + query({ ...filters, limit: PAGE, before }));
    rows = rows.concat(data.data);
    before = data.next_before;
    holder.replaceChildren(rows.length ? table("Requests", cols, rows, r => detail(r, keyName))
      : empty("No requests match — here is a curl to make one:", curlExample()));
    if (before) holder.append(more);
    more.disabled = false;
  }
  more.addEventListener("click", load);
  await load();
}
