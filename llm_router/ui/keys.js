// Keys and Teams: spend against budget, limits, status; create (secret shown once), edit, revoke.
import { announce, api, canWrite, clear, copyText, curlExample, el, empty, errorText, fmt, modal, query, table }
  from "./core.js";

const PERIODS = ["day", "week", "month", "total"];

function status(item) {
  if (item.revoked_at) return el("span", { class: "badge bad" }, "revoked");
  if (item.expires_at && new Date(item.expires_at) <= new Date()) return el("span", { class: "badge bad" }, "expired");
  return el("span", { class: "badge ok" }, "active");
}

function spendBar(spend) {
  if (!spend) return "—";
  const text = spend.max_usd === null ? `${fmt.usd(spend.spend_usd)} this ${spend.period} (no budget)`
    : `${fmt.usd(spend.spend_usd)} of ${fmt.usd(spend.max_usd)} / ${spend.period}`;
  if (spend.max_usd === null) return el("span", {}, text);
  const ratio = spend.max_usd > 0 ? Math.min(1, spend.spend_usd / spend.max_usd) : 1;
  const fill = el("span", { class: "bar-fill" + (ratio >= 1 ? " over" : ratio >= 0.8 ? " near" : "") });
  fill.style.width = `${(ratio * 100).toFixed(1)}%`;
  return el("div", { class: "spend" },
    el("span", { class: "bar", role: "meter", "aria-valuemin": "0", "aria-valuemax": String(spend.max_usd),
      "aria-valuenow": String(spend.spend_usd), "aria-label": text }, fill),
    el("span", { class: "small" }, text));
}

function limits(item) {
  const l = item.limits || {};
  const parts = [l.rpm && `${l.rpm} rpm`, l.tpm && `${l.tpm} tpm`, l.max_parallel && `${l.max_parallel} parallel`]
    .filter(Boolean);
  return parts.length ? parts.join(", ") : el("span", { class: "muted" }, "none");
}

function field(label, input, hint) {
  const id = "f-" + Math.random().toString(36).slice(2);
  input.id = id;
  return el("div", { class: "field" }, el("label", { for: id }, label), input,
    hint ? el("span", { class: "hint small" }, hint) : null);
}

function form(kind, item, teams) {
  const v = item || {};
  const inputs = {
    name: el("input", { name: "name", required: true, maxlength: "200", value: v.name || "" }),
    models: el("input", { name: "models", value: (v.models || []).join(", "), placeholder: "all models" }),
    max_usd: el("input", { name: "max_usd", type: "number", min: "0", step: "any",
      value: v.budget ? String(v.budget.max_usd) : "" }),
    period: el("select", { name: "period" }, PERIODS.map(p =>
      el("option", { value: p, selected: (v.budget ? v.budget.period : "month") === p }, p))),
    rpm: el("input", { name: "rpm", type: "number", min: "1", value: v.limits && v.limits.rpm ? String(v.limits.rpm) : "" }),
    tpm: el("input", { name: "tpm", type: "number", min: "1", value: v.limits && v.limits.tpm ? String(v.limits.tpm) : "" }),
    max_parallel: el("input", { name: "max_parallel", type: "number", min: "1",
      value: v.limits && v.limits.max_parallel ? String(v.limits.max_parallel) : "" }),
  };
  const rows = [field("Name", inputs.name), field("Models", inputs.models, "Comma-separated routes, models or provider/*")];
  if (kind === "key") {
    inputs.team_id = el("select", { name: "team_id" }, el("option", { value: "" }, "(no team)"),
      teams.map(t => el("option", { value: t.id, selected: v.team_id === t.id }, t.name)));
    inputs.expires_at = el("input", { name: "expires_at", type: "datetime-local" });
    rows.push(field("Team", inputs.team_id), field("Expires (your time zone)", inputs.expires_at));
  }
  rows.push(el("fieldset", {}, el("legend", {}, "Budget"), field("Max USD", inputs.max_usd), field("Period", inputs.period)),
    el("fieldset", {}, el("legend", {}, "Limits"), field("Requests / minute", inputs.rpm),
      field("Tokens / minute", inputs.tpm), field("Parallel requests", inputs.max_parallel)));
  return { inputs, rows };
}

function bodyOf(inputs) {
  const num = i => (i.value === "" ? null : Number(i.value));
  const models = inputs.models.value.split(",").map(s => s.trim()).filter(Boolean);
  const body = {
    name: inputs.name.value.trim(), models: models.length ? models : null,
    budget: inputs.max_usd.value === "" ? null : { max_usd: Number(inputs.max_usd.value), period: inputs.period.value },
    limits: { rpm: num(inputs.rpm), tpm: num(inputs.tpm), max_parallel: num(inputs.max_parallel) },
  };
  if (inputs.team_id) body.team_id = inputs.team_id.value || null;
  if (inputs.expires_at && inputs.expires_at.value) body.expires_at = new Date(inputs.expires_at.value).toISOString();
  return body;
}

function edit(kind, item, teams, done) {
  const { inputs, rows } = form(kind, item, teams);
  const error = el("p", { class: "error", role: "alert" });
  const submit = el("button", { type: "submit" }, item ? "Save" : `Create ${kind}`);
  const cancel = el("button", { type: "button", class: "secondary" }, "Cancel");
  const formEl = el("form", { class: "form" }, rows, error, el("div", { class: "actions" }, submit, cancel));
  const { close } = modal(item ? `Edit ${item.name}` : `New ${kind}`, formEl);
  cancel.addEventListener("click", close);
  formEl.addEventListener("submit", async event => {
    event.preventDefault();
    submit.disabled = true;
    const path = kind === "key" ? "/admin/keys" : "/admin/teams";
    try {
      const body = bodyOf(inputs);
      const result = item ? await api("PATCH", `${path}/${item.id}`, body) : await api("POST", path, body);
      close();
      done(result);
    } catch (e) {
      error.textContent = errorText(e);
      submit.disabled = false;
    }
  });
  inputs.name.focus();
}

function showSecret(created) {
  const input = el("input", { readonly: true, class: "secret", "aria-label": "The new key" });
  input.value = created.key;  // the property only: never an attribute of the page
  const copy = el("button", { type: "button" }, "Copy");
  const closeBtn = el("button", { type: "button", class: "secondary" }, "I have saved it");
  const { dialog, close } = modal(`Key ${created.name} created`,
    el("p", {}, "Copy the key now: it is shown this once and cannot be shown again."), input,
    el("div", { class: "actions" }, copy, closeBtn), el("p", { class: "small" }, "Try it:"), curlExample());
  dialog.addEventListener("close", () => { input.value = ""; });
  copy.addEventListener("click", async () => { await copyText(created.key, input); announce("Key copied."); copy.textContent = "Copied"; });
  closeBtn.addEventListener("click", close);
  copy.focus();
}

function confirmAction(title, text, label, action) {
  const yes = el("button", { type: "button", class: "danger" }, label);
  const no = el("button", { type: "button", class: "secondary" }, "Cancel");
  const error = el("p", { class: "error", role: "alert" });
  const { close } = modal(title, el("p", {}, text), error, el("div", { class: "actions" }, yes, no));
  no.addEventListener("click", close);
  yes.addEventListener("click", async () => {
    try { await action(); close(); } catch (e) { error.textContent = errorText(e); }
  });
  no.focus();
}

export async function renderKeys(page, params, kind) {
  const plural = kind === "key" ? "Keys" : "Teams";
  const showRevoked = params.get("revoked") === "1";
  const head = el("div", { class: "page-head" }, el("h1", {}, plural));
  page.append(head);
  const [list, teams, spend] = await Promise.all([
    api("GET", kind === "key" ? "/admin/keys" + query({ include_revoked: showRevoked || null }) : "/admin/teams"),
    kind === "key" ? api("GET", "/admin/teams") : Promise.resolve(null),
    api("GET", "/admin/spend" + query({ scope: kind })),
  ]);
  const teamList = teams ? teams.data : list.data;
  const teamName = Object.fromEntries(teamList.map(t => [t.id, t.name]));
  const spendOf = Object.fromEntries(spend.data.map(s => [s.id, s]));
  const reload = () => window.dispatchEvent(new Event("hashchange"));
  if (canWrite()) {
    head.append(el("button", { type: "button", onclick: () => edit(kind, null, teamList, result => {
      if (kind === "key") showSecret(result);
      announce(`${kind === "key" ? "Key" : "Team"} ${result.name} created.`);
      reload();
    }) }, kind === "key" ? "Create key" : "Create team"));
  }
  if (kind === "key") {
    head.append(el("a", { href: "#/keys" + (showRevoked ? "" : "?revoked=1"), class: "small" },
      showRevoked ? "Hide revoked keys" : "Show revoked keys"));
  }
  if (!list.data.length) {
    page.append(empty(kind === "key" ? "No keys yet. Create one, then call the gateway with it:" : "No teams yet.",
      kind === "key" ? curlExample() : null));
    return;
  }
  const filterKey = kind === "key" ? "key_id" : "team_id";
  const cols = [
    { label: "Name", value: r => el("strong", {}, r.name) },
    kind === "key" ? { label: "Key", value: r => el("code", {}, r.key_display) } : null,
    kind === "key" ? { label: "Team", value: r => (r.team_id ? teamName[r.team_id] || r.team_id : "—") } : null,
    { label: "Spend / budget", value: r => spendBar(spendOf[r.id]) },
    { label: "Limits", value: limits },
    { label: "Models", value: r => (r.models ? r.models.join(", ") : el("span", { class: "muted" }, "all")) },
    kind === "key" ? { label: "Status", value: status } : null,
    { label: "Actions", value: r => el("div", { class: "row-actions" },
      el("a", { href: "#/requests" + query({ [filterKey]: r.id }) }, "View requests"),
      canWrite() && !r.revoked_at ? el("button", { type: "button", class: "link",
        onclick: () => edit(kind, r, teamList, x => { announce(`${x.name} saved.`); reload(); }) }, "Edit") : null,
      canWrite() && !r.revoked_at ? el("button", { type: "button", class: "link danger",
        onclick: () => confirmAction(kind === "key" ? `Revoke ${r.name}?` : `Delete ${r.name}?`,
          kind === "key" ? "Requests with this key fail from now on." : "A team with active keys cannot be deleted.",
          kind === "key" ? "Revoke" : "Delete",
          async () => { await api("DELETE", `/admin/${kind}s/${r.id}`); announce(`${r.name} ${kind === "key" ? "revoked" : "deleted"}.`); reload(); }) },
      kind === "key" ? "Revoke" : "Delete") : null) },
  ].filter(Boolean);
  page.append(table(plural, cols, list.data));
}

export function clearPage(page) { clear(page); }
