// Models: routes and deployments with circuit state, load, recent TTFT and error rate.
import { api, el, empty, fmt, table } from "./core.js";

const CIRCUIT = { closed: ["ok", "closed"], open: ["bad", "open (cooling down)"], half_open: ["warn", "half-open (probing)"] };

export async function renderModels(page, params) {
  const health = await api("GET", "/admin/health");
  const all = params.get("all") === "1";
  const unconfigured = health.deployments.filter(d => !d.usable).length;
  const shown = all ? health.deployments : health.deployments.filter(d => d.usable);
  const refresh = el("button", { type: "button", class: "secondary",
    onclick: () => window.dispatchEvent(new Event("hashchange")) }, "Refresh");
  page.append(el("div", { class: "page-head" }, el("h1", {}, "Models"), refresh),
    el("p", { class: "small muted" }, `Circuit state and load are live; latency and errors over the last ${health.window / 60} minutes.`));
  page.append(el("h2", {}, "Routes"));
  page.append(health.routes.length ? table("Routes", [
    { label: "Route", value: r => el("strong", {}, r.name) }, { label: "Strategy", value: r => r.strategy },
    { label: "Deployments", value: r => r.deployments.join(", ") }], health.routes)
    : empty("No routes configured: models are called by deployment or provider/model name."));
  page.append(el("div", { class: "page-head" }, el("h2", {}, "Deployments"), unconfigured ? el("a", {
    href: all ? "#/models" : "#/models?all=1", class: "small" },
  all ? "Hide deployments without a provider key" : `Show ${unconfigured} more without a provider key`) : null));
  const circuit = d => { const [cls, text] = CIRCUIT[d.circuit]; return el("span", { class: "badge " + cls }, text); };
  page.append(shown.length ? table("Deployments", [
    { label: "Deployment", value: d => el("strong", {}, d.name) },
    { label: "Provider / model", value: d => `${d.provider} / ${d.model}` },
    { label: "Configured", value: d => (d.usable ? "yes" : el("span", { class: "badge warn" }, "no key")) },
    { label: "Circuit", value: circuit },
    { label: "In flight", value: d => fmt.int(d.in_flight), class: "num" },
    { label: "Requests", value: d => fmt.int(d.recent.requests), class: "num" },
    { label: "Error rate", value: d => fmt.pct(d.recent.error_rate), class: "num" },
    { label: "TTFT p50", value: d => fmt.ms(d.recent.ttft_p50_ms), class: "num" },
    { label: "TTFT p95", value: d => fmt.ms(d.recent.ttft_p95_ms), class: "num" },
  ], shown) : empty("No deployments configured."));
}
