// Overview: requests, errors, spend and tokens over a window (uPlot charts); top spenders.
import { api, clear, curlExample, el, empty, fmt, query, table } from "./core.js";

const WINDOWS = [["hour", 3600, "Last hour"], ["day", 86400, "Last day"], ["week", 604800, "Last week"],
  ["30d", 2592000, "Last 30 days"]];
const charts = [];

function chart(container, title, data, series) {
  const box = el("figure", { class: "chart" }, el("figcaption", {}, title));
  container.append(box);
  return () => {  // drawn once every box is laid out, at the box's width
    const opts = {
      width: Math.max(240, box.clientWidth - 16), height: 180, scales: { x: { time: true } },
      series: [{}, ...series.map(s => ({ label: s.label, stroke: s.color, width: 2, fill: s.fill, points: { show: false },
        value: (u, v) => (v === null || v === undefined ? "—" : s.format(v)) }))],
      axes: [{}, { size: 70, values: (u, ticks) => ticks.map(t => series[0].format(t)) }],
    };
    const plot = new window.uPlot(opts, [data.map(p => p.t), ...series.map(s => data.map(s.pick))], box);
    charts.push({ plot, box });
  };
}

function resize() {
  for (const { plot, box } of charts) {
    if (box.isConnected) plot.setSize({ width: Math.max(240, box.clientWidth - 16), height: 180 });
  }
}
window.addEventListener("resize", resize);

function card(label, value) {
  return el("div", { class: "card" }, el("span", { class: "card-label" }, label), el("strong", {}, value));
}

function topTable(title, rows, by) {
  const label = { key: "Key", team: "Team", model: "Model" }[by];
  const name = r => {
    if (!r.group) return el("span", { class: "muted" }, by === "model" ? "(none)" : "(no " + by + ")");
    if (by === "model") return r.group;
    return el("a", { href: "#/requests" + query({ [by + "_id"]: r.group }) }, r.name || r.group);
  };
  const cols = [{ label, value: name }, { label: "Requests", value: r => fmt.int(r.requests), class: "num" },
    { label: "Errors", value: r => fmt.int(r.errors), class: "num" },
    { label: "Spend", value: r => fmt.usd(r.cost_usd), class: "num" }];
  return el("section", { class: "toplist" }, el("h3", {}, title),
    rows.length ? table(title, cols, rows) : empty("Nothing in this window."));
}

export async function renderOverview(page, params) {
  charts.length = 0;
  const chosen = WINDOWS.find(w => w[0] === params.get("window")) || WINDOWS[1];
  const picker = el("div", { class: "segmented", role: "group", "aria-label": "Time window" },
    WINDOWS.map(([id, , label]) => el("a", {
      href: "#/overview?window=" + id, class: id === chosen[0] ? "active" : "",
      "aria-current": id === chosen[0] ? "true" : null }, label)));
  const body = el("div", { class: "overview", "aria-busy": "true" }, el("p", { class: "muted" }, "Loading…"));
  page.append(el("div", { class: "page-head" }, el("h1", {}, "Overview"), picker), body);
  const w = chosen[1];
  const [series, keys, teams, models] = await Promise.all([
    api("GET", "/admin/usage/series" + query({ window: w })),
    api("GET", "/admin/usage/top" + query({ window: w, by: "key", limit: 5 })),
    api("GET", "/admin/usage/top" + query({ window: w, by: "team", limit: 5 })),
    api("GET", "/admin/usage/top" + query({ window: w, by: "model", limit: 5 })),
  ]);
  clear(body).removeAttribute("aria-busy");
  const t = series.totals;
  if (!t.requests) {
    body.append(empty("No requests in this window yet — here is a curl to make one (with a key from the Keys page):",
      curlExample()));
    return;
  }
  body.append(el("div", { class: "cards" }, card("Requests", fmt.int(t.requests)), card("Errors", fmt.int(t.errors)),
    card("Spend", fmt.usd(t.cost_usd)), card("Tokens in / out", `${fmt.int(t.input_tokens)} / ${fmt.int(t.output_tokens)}`)));
  const grid = el("div", { class: "charts" });
  body.append(grid, el("p", { class: "muted small" },
    `Since ${fmt.time(series.since)}, ${series.bucket / 60}-minute buckets.`));
  const count = v => Math.round(v).toLocaleString();
  const draws = [chart(grid, "Requests and errors", series.data, [
    { label: "requests", color: "#2563eb", pick: p => p.requests, format: count },
    { label: "errors", color: "#dc2626", pick: p => p.errors, format: count }]),
  chart(grid, "Spend (USD)", series.data, [
    { label: "spend", color: "#059669", fill: "rgba(5,150,105,0.12)", pick: p => p.cost_usd, format: v => fmt.usd(v) }]),
  chart(grid, "Tokens", series.data, [
    { label: "input", color: "#7c3aed", pick: p => p.input_tokens, format: count },
    { label: "output", color: "#d97706", pick: p => p.output_tokens, format: count }])];
  for (const draw of draws) draw();
  body.append(el("div", { class: "tops" }, topTable("Top keys by spend", keys.data, "key"),
    topTable("Top teams by spend", teams.data, "team"), topTable("Top models by spend", models.data, "model")));
}
