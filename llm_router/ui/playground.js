// Playground: call /v1/chat/completions with a virtual key (kept in this page only), streaming
// or not; shows tokens, cost (from the ledger), latency and the deployment that answered.
import { api, el, errorText, fmt, query } from "./core.js";

function field(label, input) {
  input.id = input.id || "pg-" + input.name;
  return el("div", { class: "field" }, el("label", { for: input.id }, label), input);
}

async function dataPlane(key, path, body) {
  const response = await fetch(path, {
    method: body ? "POST" : "GET", credentials: "omit",
    headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try { const data = await response.json(); message = (data.error && data.error.message) || message; } catch { /* not JSON */ }
    throw new Error(`${response.status}: ${message}`);
  }
  return response;
}

async function readStream(response, output, onFirst) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let usage = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const events = buffer.split(/\r?\n\r?\n/);
    buffer = events.pop();
    for (const event of events) {
      for (const line of event.split(/\r?\n/)) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return usage;
        const chunk = JSON.parse(data);
        if (chunk.usage) usage = chunk.usage;
        const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
        if (delta && delta.content) { onFirst(); output.textContent += delta.content; }
      }
    }
  }
  return usage;
}

async function ledgerCost(requestId) {
  for (let i = 0; i < 10 && requestId; i++) {
    const rows = await api("GET", "/admin/requests" + query({ request_id: requestId, limit: 1 }));
    if (rows.data.length) return rows.data[0];
    await new Promise(resolve => setTimeout(resolve, 300));
  }
  return null;
}

export async function renderPlayground(page) {
  const key = el("input", { name: "key", type: "password", autocomplete: "off", spellcheck: "false",
    placeholder: "sk-lr-…", required: true });
  const model = el("select", { name: "model", disabled: true }, el("option", { value: "" }, "load the key's models first"));
  const loadModels = el("button", { type: "button", class: "secondary" }, "Load models");
  const system = el("textarea", { name: "system", rows: "2", placeholder: "You are a helpful assistant." });
  const message = el("textarea", { name: "message", rows: "4", required: true, placeholder: "Say hello" });
  const stream = el("input", { name: "stream", type: "checkbox", checked: true });
  const send = el("button", { type: "submit" }, "Send");
  const output = el("div", { class: "answer", "aria-live": "polite", "aria-label": "Answer", id: "pg-answer" });
  const facts = el("dl", { class: "details facts", id: "pg-facts" });
  const error = el("p", { class: "error", role: "alert" });
  loadModels.addEventListener("click", async () => {
    error.textContent = "";
    try {
      const data = await (await dataPlane(key.value.trim(), "/v1/models")).json();
      model.replaceChildren(...data.data.map(m => el("option", { value: m.id }, m.id)));
      model.disabled = !data.data.length;
      if (!data.data.length) error.textContent = "This key may use no model.";
    } catch (e) { error.textContent = errorText(e); }
  });
  const formEl = el("form", { class: "form playground" },
    field("Virtual key (kept in this page only)", key), el("div", { class: "actions" }, loadModels),
    field("Model", model), field("System prompt", system), field("Message", message),
    el("div", { class: "field inline" }, stream, el("label", { for: "pg-stream" }, "Stream the answer")),
    el("div", { class: "actions" }, send), error);
  stream.id = "pg-stream";
  formEl.addEventListener("submit", async event => {
    event.preventDefault();
    error.textContent = "";
    output.textContent = "";
    facts.replaceChildren();
    send.disabled = true;
    const messages = [...(system.value.trim() ? [{ role: "system", content: system.value }] : []),
      { role: "user", content: message.value }];
    const body = { model: model.value, messages, stream: stream.checked,
      ...(stream.checked ? { stream_options: { include_usage: true } } : {}) };
    const started = performance.now();
    let ttft = null;
    try {
      const response = await dataPlane(key.value.trim(), "/v1/chat/completions", body);
      let usage;
      if (stream.checked) {
        usage = await readStream(response, output, () => { if (ttft === null) ttft = performance.now() - started; });
      } else {
        const data = await response.json();
        output.textContent = data.choices[0].message.content || "";
        usage = data.usage;
      }
      const latency = performance.now() - started;
      const requestId = response.headers.get("x-request-id");
      const show = (k, v) => facts.append(el("dt", {}, k), el("dd", {}, v));
      show("Deployment", response.headers.get("x-llm-router-deployment") || "—");
      show("Tokens in / out", usage ? `${fmt.int(usage.prompt_tokens)} / ${fmt.int(usage.completion_tokens)}` : "—");
      show("Latency", fmt.ms(latency));
      if (ttft !== null) show("Time to first token", fmt.ms(ttft));
      const row = await ledgerCost(requestId);
      show("Cost", row ? fmt.usd(row.cost_usd) : "—");
      show("Request id", requestId || "—");
    } catch (e) {
      error.textContent = errorText(e);
    } finally {
      send.disabled = false;
    }
  });
  page.append(el("div", { class: "page-head" }, el("h1", {}, "Playground")),
    el("div", { class: "split" }, formEl, el("section", { class: "result", "aria-label": "Result" },
      el("h2", {}, "Answer"), output, facts)));
}
