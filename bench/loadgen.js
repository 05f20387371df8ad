#!/usr/bin/env node
// Load generator for bench/ (Node, no dependencies): the two things wrk cannot do.
//
//   node loadgen.js spec.json      prints one JSON object on stdout
//
// spec.mode = "open":   open-loop, fixed rate. Request i is sent at t0 + i/rate whether or
//   not earlier ones have finished (no coordinated omission: a slow server does not slow
//   the sender). Latency is measured from the moment the request is handed to the socket
//   layer to the last byte of the response. Requests that would exceed max_inflight are
//   not sent and counted as "dropped" (the target is saturated). Optional spec.interval_s
//   adds a time series (count, errors, p50, p99 per interval), used by the soak.
// spec.mode = "stream": closed-loop, `concurrency` streams back to back on keep-alive
//   connections. Per stream: ttfb (response headers), ttft (first content token), total.
//
// spec.requests = [{url, headers, body, kind}] (cycled in order); kind is "json" (any
// 200 body), "sse" (OpenAI SSE: first token = first non-empty "content", complete =
// ends with [DONE]), "anthropic" (Anthropic SSE: first non-empty "text", complete = ends
// with message_stop), "responses" (OpenAI Responses SSE: first non-empty "delta", complete =
// a response.completed event) or "text" (first token = first body byte).
'use strict';
const http = require('http');
const fs = require('fs');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const nowNs = () => process.hrtime.bigint();
const ms = (ns) => Number(ns) / 1e6;
const reqs = spec.requests.map((r) => {
  const u = new URL(r.url);
  const body = Buffer.from(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
  const headers = Object.assign({ 'content-type': 'application/json', 'content-length': body.length }, r.headers || {});
  const kind = r.kind || 'json';
  const sse = kind === 'sse' || kind === 'anthropic' || kind === 'responses';
  const first = { anthropic: /"text":"[^"]/, responses: /"delta":"[^"]/ }[kind] || /"content":"[^"]/;
  const done = { anthropic: 'message_stop', responses: 'event: response.completed' }[kind] || '[DONE]';
  return { kind, sse, first, done,
    opts: { host: u.hostname, port: u.port, path: u.pathname + u.search, method: 'POST', headers }, body };
});

function pct(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
function summary(values) {
  const s = Float64Array.from(values).sort();
  if (!s.length) return { n: 0 };
  let sum = 0;
  for (const v of s) sum += v;
  return { n: s.length, mean: sum / s.length, min: s[0], p50: pct(s, 50), p90: pct(s, 90),
    p99: pct(s, 99), p999: pct(s, 99.9), max: s[s.length - 1] };
}

// One request; cb(err, {ttfb, ttft, total}) with times in ms from `start`.
function fire(r, agent, timeoutMs, cb) {
  const start = nowNs();
  let ttfb = null; let ttft = null; let done = false; let found = !r.sse; let complete = !r.sse;
  let head = ''; let tail = '';
  const finish = (err, res) => { if (!done) { done = true; cb(err, res); } };
  const req = http.request(Object.assign({ agent }, r.opts), (res) => {
    ttfb = ms(nowNs() - start);
    if (res.statusCode !== 200) {
      res.resume();
      res.on('end', () => finish('status_' + res.statusCode));
      return;
    }
    res.on('data', (chunk) => {
      if (ttft === null) {
        if (r.sse) {
          head += chunk.toString('latin1');
          if (r.first.test(head)) { ttft = ms(nowNs() - start); found = true; head = ''; }
        } else if (chunk.length) ttft = ms(nowNs() - start);
      }
      if (r.sse && !complete) {  // the end marker, also when split across two chunks
        const text = tail + chunk.toString('latin1');
        complete = text.includes(r.done);
        tail = text.slice(-32);
      }
    });
    res.on('end', () => {
      const total = ms(nowNs() - start);
      if (r.sse && (!found || !complete)) return finish('incomplete_stream');
      finish(null, { ttfb, ttft: ttft === null ? total : ttft, total });
    });
    res.on('error', () => finish('response_error'));
    res.on('aborted', () => finish('aborted'));
  });
  req.setTimeout(timeoutMs, () => { req.destroy(); finish('timeout'); });
  req.on('error', (e) => finish(e.code || 'request_error'));
  req.end(r.body);
}

function countErr(errors, e) { errors[e] = (errors[e] || 0) + 1; }

function runOpen() {
  const rate = spec.rate; const interval = 1e9 / rate;
  const warmNs = BigInt(Math.round((spec.warmup || 0) * 1e9));
  const durNs = BigInt(Math.round(spec.duration * 1e9));
  const maxInflight = spec.max_inflight || 512;
  const timeoutMs = spec.timeout_ms || 10000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInflight, maxFreeSockets: maxInflight });
  const t0 = nowNs(); const measureFrom = t0 + warmNs; const endAt = measureFrom + durNs;
  const lat = []; const ttft = []; const lags = []; const errors = {};
  const series = []; const bucketNs = spec.interval_s ? BigInt(Math.round(spec.interval_s * 1e9)) : null;
  let bucket = { lat: [], errors: 0 };
  let bucketEnd = bucketNs ? measureFrom + bucketNs : null;
  let sent = 0; let ok = 0; let dropped = 0; let inflight = 0; let i = 0; let schedDone = false;
  const flushBucket = (upTo) => {
    while (bucketNs && upTo >= bucketEnd) {
      const s = summary(bucket.lat);
      series.push({ t_s: Number(bucketEnd - measureFrom) / 1e9, ok: bucket.lat.length, errors: bucket.errors, p50: s.p50 || null, p99: s.p99 || null });
      bucket = { lat: [], errors: 0 }; bucketEnd += bucketNs;
    }
  };
  const maybeEnd = () => {
    if (schedDone && inflight === 0) report();
  };
  let reported = false;
  const report = () => {
    if (reported) return; reported = true;
    flushBucket(endAt);
    const elapsed = Number(durNs) / 1e9;
    out({ mode: 'open', rate, duration_s: elapsed, sent, ok, dropped, errors,
      achieved_rps: ok / elapsed, latency_ms: summary(lat), ttft_ms: summary(ttft),
      send_lag_ms: summary(lags), series: bucketNs ? series : undefined });
  };
  const tick = () => {
    const now = nowNs();
    while (!schedDone) {
      const due = t0 + BigInt(Math.round(i * interval));
      if (due > now) break;
      if (due >= endAt) { schedDone = true; break; }
      const measured = due >= measureFrom;
      i += 1;
      if (inflight >= maxInflight) { if (measured) { dropped += 1; countErr(errors, 'dropped'); if (bucketNs) bucket.errors += 1; } continue; }
      if (measured) { sent += 1; lags.push(ms(now - due)); }
      inflight += 1;
      fire(reqs[i % reqs.length], agent, timeoutMs, (err, res) => {
        inflight -= 1;
        const t = nowNs();
        if (measured) {
          if (bucketNs) flushBucket(t < endAt ? t : endAt);
          if (err) { countErr(errors, err); if (bucketNs) bucket.errors += 1; } else {
            ok += 1; lat.push(res.total); if (res.ttft !== res.total) ttft.push(res.ttft);
            if (bucketNs) bucket.lat.push(res.total);
          }
        }
        maybeEnd();
      });
    }
    if (schedDone) { setTimeout(() => { agent.destroy(); report(); }, timeoutMs + 1000).unref(); maybeEnd(); return; }
    const wait = Number(t0 + BigInt(Math.round(i * interval)) - nowNs()) / 1e6;
    if (wait > 1.5) setTimeout(tick, Math.floor(wait - 0.5)); else setImmediate(tick);
  };
  tick();
}

function runStream() {
  const conc = spec.concurrency;
  const warmNs = BigInt(Math.round((spec.warmup || 0) * 1e9));
  const durNs = BigInt(Math.round(spec.duration * 1e9));
  const timeoutMs = spec.timeout_ms || 30000;
  const agent = new http.Agent({ keepAlive: true, maxSockets: conc, maxFreeSockets: conc });
  const t0 = nowNs(); const measureFrom = t0 + warmNs; const endAt = measureFrom + durNs;
  const ttfb = []; const ttft = []; const total = []; const errors = {};
  let completed = 0; let started = 0; let running = conc; let n = 0;
  const worker = () => {
    const now = nowNs();
    if (now >= endAt) { running -= 1; if (running === 0) report(); return; }
    const measured = now >= measureFrom;
    if (measured) started += 1;
    fire(reqs[n++ % reqs.length], agent, timeoutMs, (err, res) => {
      const t = nowNs();
      if (t >= measureFrom && t <= endAt) {   // throughput: every completion in the window
        if (err) countErr(errors, err); else completed += 1;
        if (!err && measured) { ttfb.push(res.ttfb); ttft.push(res.ttft); total.push(res.total); }
      }
      worker();
    });
  };
  const report = () => {
    agent.destroy();
    const elapsed = Number(durNs) / 1e9;
    out({ mode: 'stream', concurrency: conc, duration_s: elapsed, started, completed, errors,
      streams_per_s: completed / elapsed, ttfb_ms: summary(ttfb), ttft_ms: summary(ttft), total_ms: summary(total) });
  };
  for (let k = 0; k < conc; k++) worker();
}

function out(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); process.exit(0); }

if (spec.mode === 'open') runOpen();
else if (spec.mode === 'stream') runStream();
else { process.stderr.write('unknown mode ' + spec.mode + '\n'); process.exit(2); }
