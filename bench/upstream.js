#!/usr/bin/env node
// A cheap fake LLM upstream for bench/: OpenAI Chat Completions, Responses and embeddings, and
// Anthropic Messages, whole answers or SSE streams. Plain `http`, no dependencies, one process.
//
//   POST /v1/chat/completions   chat.completion JSON, or with "stream": true an SSE stream:
//                               role chunk, N content chunks, finish chunk, a usage chunk
//                               when stream_options.include_usage, then `data: [DONE]`.
//   POST /v1/messages           Anthropic message JSON, or SSE: message_start,
//                               content_block_start, content_block_delta x N,
//                               content_block_stop, message_delta (usage), message_stop.
//   POST /v1/responses          OpenAI Responses: a `response` JSON, or SSE: response.created,
//                               response.in_progress, output_item.added, content_part.added,
//                               output_text.delta x N, output_text.done, content_part.done,
//                               output_item.done, response.completed (usage), each numbered.
//   POST /v1/embeddings         OpenAI embeddings: one 1536-dim vector per input, float or
//                               base64 (encoding_format), usage.prompt_tokens.
//   GET  /health                "ok"
//   GET  /_bench/stats          {requests, streams, aborted, cpu_user_us, cpu_system_us, rss, config}
//   POST /_bench/config         {"chunks": N, "delay_ms": D} changes the stream defaults.
//
// N (chunks) and D (delay between content chunks, ms) come from UPSTREAM_CHUNKS (default 30)
// and UPSTREAM_CHUNK_DELAY_MS (default 0), /_bench/config, or per request from the query
// string (?chunks=N&delay=D). The first content chunk is sent with the headers; each later
// one D ms after the previous one (D = 0: all in the same tick).
'use strict';
const http = require('http');

const PORT = parseInt(process.env.UPSTREAM_PORT || '9100', 10);
const HOST = process.env.UPSTREAM_HOST || '127.0.0.1';
const config = {
  chunks: parseInt(process.env.UPSTREAM_CHUNKS || '30', 10),
  delay_ms: parseFloat(process.env.UPSTREAM_CHUNK_DELAY_MS || '0'),
};
const stats = { requests: 0, streams: 0, errors: 0, aborted: 0 };  // aborted: streams closed by the client early

const WORDS = ('The quick brown fox jumps over the lazy dog while the router forwards every ' +
  'token with care and the benchmark counts each microsecond spent on the way').split(' ');
const ANSWER = 'Hello! I am a fake upstream used for benchmarking. ' +
  'This answer has a realistic length so that response parsing, translation and ' +
  're-encoding cost about what they cost with a real provider answer of a few sentences.';
let seq = 0;

function token(i) { return (i === 0 ? '' : ' ') + WORDS[i % WORDS.length]; }
function reqId() { seq += 1; return 'req_' + process.pid.toString(36) + '_' + seq.toString(36); }

function commonHeaders(id) {
  return {
    'x-request-id': id,
    'openai-processing-ms': '1',
    'openai-version': '2020-10-01',
    'x-ratelimit-limit-requests': '10000',
    'x-ratelimit-remaining-requests': '9999',
    'x-ratelimit-reset-requests': '6ms',
  };
}

function sendJson(res, status, obj, extra) {
  const body = JSON.stringify(obj);
  res.writeHead(status, Object.assign({
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  }, extra || {}));
  res.end(body);
}

function streamParams(url) {
  let chunks = config.chunks;
  let delay = config.delay_ms;
  const q = url.indexOf('?');
  if (q >= 0) {
    const p = new URLSearchParams(url.slice(q + 1));
    if (p.has('chunks')) chunks = parseInt(p.get('chunks'), 10);
    if (p.has('delay')) delay = parseFloat(p.get('delay'));
  }
  return { chunks: Math.max(1, chunks), delay: Math.max(0, delay) };
}

// Writes frames[0..] : frames[0] and frames[1] at once, then one every `delay` ms.
function writePaced(res, head, frames, tail, delay) {
  let closed = false;
  res.on('close', () => { closed = true; if (!res.writableFinished) stats.aborted += 1; });
  res.write(head + frames[0]);
  if (delay <= 0) {
    for (let i = 1; i < frames.length; i++) res.write(frames[i]);
    res.end(tail);
    return;
  }
  let i = 1;
  const next = () => {
    if (closed) return;
    if (i < frames.length) { res.write(frames[i++]); setTimeout(next, delay); } else res.end(tail);
  };
  setTimeout(next, delay);
}

function openaiChat(req, res, body) {
  const id = 'chatcmpl-' + reqId();
  const created = Math.floor(Date.now() / 1000);
  const model = body.model || 'gpt-4.1-mini-2025-04-14';
  const promptTokens = 24;
  if (!body.stream) {
    stats.requests += 1;
    return sendJson(res, 200, {
      id, object: 'chat.completion', created, model,
      choices: [{ index: 0, message: { role: 'assistant', content: ANSWER, refusal: null, annotations: [] },
        logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: 42, total_tokens: promptTokens + 42,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0,
          accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } },
      service_tier: 'default', system_fingerprint: 'fp_bench',
    }, commonHeaders(id));
  }
  stats.streams += 1;
  const { chunks, delay } = streamParams(req.url);
  const pre = '{"id":"' + id + '","object":"chat.completion.chunk","created":' + created +
    ',"model":' + JSON.stringify(model) + ',"service_tier":"default","system_fingerprint":"fp_bench","choices":';
  res.writeHead(200, Object.assign({
    'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache',
  }, commonHeaders(id)));
  const head = 'data: ' + pre + '[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}\n\n';
  const frames = [];
  for (let i = 0; i < chunks; i++) {
    frames.push('data: ' + pre + '[{"index":0,"delta":{"content":' + JSON.stringify(token(i)) +
      '},"logprobs":null,"finish_reason":null}]}\n\n');
  }
  let tail = 'data: ' + pre + '[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n';
  if (body.stream_options && body.stream_options.include_usage) {
    tail += 'data: ' + pre + '[],"usage":{"prompt_tokens":' + promptTokens + ',"completion_tokens":' + chunks +
      ',"total_tokens":' + (promptTokens + chunks) +
      ',"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}\n\n';
  }
  tail += 'data: [DONE]\n\n';
  writePaced(res, head, frames, tail, delay);
}

function sse(event, obj) { return 'event: ' + event + '\ndata: ' + JSON.stringify(obj) + '\n\n'; }

function anthropicMessages(req, res, body) {
  const id = 'msg_' + reqId();
  const model = body.model || 'claude-sonnet-4-5-20250929';
  const headers = { 'request-id': id, 'anthropic-ratelimit-requests-remaining': '9999' };
  const usage0 = { input_tokens: 24, cache_creation_input_tokens: 0, cache_read_input_tokens: 0,
    output_tokens: 1, service_tier: 'standard' };
  if (!body.stream) {
    stats.requests += 1;
    return sendJson(res, 200, {
      id, type: 'message', role: 'assistant', model,
      content: [{ type: 'text', text: ANSWER }],
      stop_reason: 'end_turn', stop_sequence: null,
      usage: Object.assign({}, usage0, { output_tokens: 42 }),
    }, headers);
  }
  stats.streams += 1;
  const { chunks, delay } = streamParams(req.url);
  res.writeHead(200, Object.assign({ 'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache' }, headers));
  const head = sse('message_start', { type: 'message_start', message: { id, type: 'message',
    role: 'assistant', content: [], model, stop_reason: null, stop_sequence: null, usage: usage0 } }) +
    sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
  const frames = [];
  for (let i = 0; i < chunks; i++) {
    frames.push(sse('content_block_delta', { type: 'content_block_delta', index: 0,
      delta: { type: 'text_delta', text: token(i) } }));
  }
  const tail = sse('content_block_stop', { type: 'content_block_stop', index: 0 }) +
    sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 24, output_tokens: chunks } }) +
    sse('message_stop', { type: 'message_stop' });
  writePaced(res, head, frames, tail, delay);
}

function responsesObject(id, created, model, body, status, text, usage) {
  const output = status === 'in_progress' ? [] : [{ id: 'msg_' + id.slice(5), type: 'message', status: 'completed',
    role: 'assistant', content: [{ type: 'output_text', annotations: [], logprobs: [], text }] }];
  return { id, object: 'response', created_at: created, status, background: false, error: null,
    incomplete_details: null, instructions: body.instructions === undefined ? null : body.instructions,
    max_output_tokens: body.max_output_tokens === undefined ? null : body.max_output_tokens,
    max_tool_calls: null, model, output, parallel_tool_calls: true, previous_response_id: null,
    prompt_cache_key: null, reasoning: { effort: null, summary: null }, safety_identifier: null,
    service_tier: 'default', store: body.store !== false, temperature: body.temperature === undefined ? 1 : body.temperature,
    text: { format: { type: 'text' }, verbosity: 'medium' }, tool_choice: 'auto', tools: [], top_logprobs: 0,
    top_p: 1, truncation: 'disabled', usage, user: null, metadata: {} };
}

function responsesUsage(output) {
  return { input_tokens: 24, input_tokens_details: { cached_tokens: 0 }, output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 24 + output };
}

function openaiResponses(req, res, body) {
  const id = 'resp_' + reqId();
  const created = Math.floor(Date.now() / 1000);
  const model = body.model || 'gpt-4.1-mini-2025-04-14';
  if (!body.stream) {
    stats.requests += 1;
    return sendJson(res, 200, responsesObject(id, created, model, body, 'completed', ANSWER, responsesUsage(42)),
      commonHeaders(id));
  }
  stats.streams += 1;
  const { chunks, delay } = streamParams(req.url);
  res.writeHead(200, Object.assign({ 'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache' }, commonHeaders(id)));
  let n = 0;
  const ev = (obj) => { obj.sequence_number = n++; return sse(obj.type, obj); };
  const itemId = 'msg_' + id.slice(5);
  const where = { item_id: itemId, output_index: 0, content_index: 0 };
  const start = responsesObject(id, created, model, body, 'in_progress', '', null);
  const head = ev({ type: 'response.created', response: start }) + ev({ type: 'response.in_progress', response: start }) +
    ev({ type: 'response.output_item.added', output_index: 0, item: { id: itemId, type: 'message',
      status: 'in_progress', role: 'assistant', content: [] } }) +
    ev(Object.assign({ type: 'response.content_part.added' }, where,
      { part: { type: 'output_text', annotations: [], logprobs: [], text: '' } }));
  const frames = [];
  let text = '';
  for (let i = 0; i < chunks; i++) {
    text += token(i);
    frames.push(ev(Object.assign({ type: 'response.output_text.delta' }, where,
      { delta: token(i), logprobs: [], obfuscation: 'xYz' })));
  }
  const part = { type: 'output_text', annotations: [], logprobs: [], text };
  const final = responsesObject(id, created, model, body, 'completed', text, responsesUsage(chunks));
  const tail = ev(Object.assign({ type: 'response.output_text.done' }, where, { text, logprobs: [] })) +
    ev(Object.assign({ type: 'response.content_part.done' }, where, { part })) +
    ev({ type: 'response.output_item.done', output_index: 0, item: final.output[0] }) +
    ev({ type: 'response.completed', response: final });
  writePaced(res, head, frames, tail, delay);
}

const EMBED_DIMS = 1536;
const EMBED_F32 = Buffer.alloc(EMBED_DIMS * 4);
for (let i = 0; i < EMBED_DIMS; i++) EMBED_F32.writeFloatLE(Math.sin(i + 1) / 40, i * 4);
const EMBED_B64 = JSON.stringify(EMBED_F32.toString('base64'));
const EMBED_FLOAT = '[' + Array.from({ length: EMBED_DIMS }, (_, i) => EMBED_F32.readFloatLE(i * 4)).join(',') + ']';

function openaiEmbeddings(req, res, body) {
  stats.requests += 1;
  const inputs = Array.isArray(body.input) && typeof body.input[0] !== 'number' ? body.input : [body.input];
  const vec = body.encoding_format === 'base64' ? EMBED_B64 : EMBED_FLOAT;
  let tokens = 0;
  const data = inputs.map((x, i) => {
    tokens += Array.isArray(x) ? x.length : Math.ceil(String(x).length / 4);
    return '{"object":"embedding","index":' + i + ',"embedding":' + vec + '}';
  });
  const out = '{"object":"list","data":[' + data.join(',') + '],"model":' +
    JSON.stringify(body.model || 'text-embedding-3-small') + ',"usage":{"prompt_tokens":' + tokens +
    ',"total_tokens":' + tokens + '}}';
  res.writeHead(200, Object.assign({ 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) },
    commonHeaders('emb-' + reqId())));
  res.end(out);
}

function readBody(req, cb) {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const raw = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    let body = {};
    if (raw.length) {
      try { body = JSON.parse(raw); } catch (e) { body = null; }
    }
    cb(body);
  });
}

const server = http.createServer((req, res) => {
  const path = req.url.split('?', 1)[0];
  const handler = req.method === 'POST' && (path.endsWith('/chat/completions') ? openaiChat
    : path.endsWith('/v1/messages') ? anthropicMessages : path.endsWith('/v1/responses') ? openaiResponses
      : path.endsWith('/v1/embeddings') ? openaiEmbeddings : null);
  if (handler) {
    return readBody(req, (body) => {
      if (body === null || typeof body !== 'object') {
        stats.errors += 1;
        return sendJson(res, 400, { error: { message: 'invalid JSON', type: 'invalid_request_error', param: null, code: null } });
      }
      handler(req, res, body);
    });
  }
  if (req.method === 'GET' && path === '/health') { res.writeHead(200, { 'content-type': 'text/plain' }); return res.end('ok'); }
  if (req.method === 'GET' && path === '/_bench/stats') {
    const cpu = process.cpuUsage();
    return sendJson(res, 200, Object.assign({ cpu_user_us: cpu.user, cpu_system_us: cpu.system,
      rss: process.memoryUsage().rss, config }, stats));
  }
  if (req.method === 'POST' && path === '/_bench/config') {
    return readBody(req, (body) => {
      if (body && Number.isFinite(body.chunks)) config.chunks = Math.max(1, body.chunks | 0);
      if (body && Number.isFinite(body.delay_ms)) config.delay_ms = Math.max(0, body.delay_ms);
      sendJson(res, 200, config);
    });
  }
  stats.errors += 1;
  sendJson(res, 404, { error: { message: 'not found: ' + req.method + ' ' + path, type: 'invalid_request_error', param: null, code: null } });
});
server.keepAliveTimeout = 120000;   // gateways pool connections; never drop them mid-run
server.headersTimeout = 121000;
server.maxRequestsPerSocket = 0;
server.listen(PORT, HOST, () => { process.stdout.write('upstream listening on ' + HOST + ':' + PORT + '\n'); });
process.on('SIGTERM', () => { server.close(); process.exit(0); });
