#!/usr/bin/env bash
# Multi-worker scaling on this machine: `llm-router serve --workers N` for N = 1, 2, with
# nothing pinned (the server, the fake upstream and wrk share both cores), non-streaming
# /v1/chat/completions (model openai), wrk -t1 -c100, 3 runs of 8 s each; medians.
#   bench/workers.sh            (after bench/setup.sh; run it on a quiet machine)
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$BENCH")"
PORT=9211
UP=9110
WORK="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

UPSTREAM_PORT=$UP node "$BENCH/upstream.js" > "$WORK/upstream.log" 2>&1 &
printf '{"model":"openai","messages":[{"role":"user","content":"Explain what an API gateway does."}],"max_tokens":256}' \
  > "$WORK/body.json"

rps() {  # wrk once; prints requests/s
  wrk -t1 -c100 -d"$1"s -s "$BENCH/post.lua" "http://127.0.0.1:$PORT/v1/chat/completions" -- "$WORK/body.json" \
    | sed -n 's/^WRK_JSON //p' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(d["requests"]/(d["duration_us"]/1e6)))'
}

echo "| workers | req/s (median of 3) | runs |"
echo "| --- | --- | --- |"
for workers in 1 2; do
  (cd "$WORK" && OPENAI_BASE_URL="http://127.0.0.1:$UP/v1" OPENAI_API_KEY=sk-bench \
    exec "$ROOT/.venv/bin/llm-router" serve --port $PORT --workers $workers --log-level warning) \
    > "$WORK/router-$workers.log" 2>&1 &
  server=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
  rps 3 >/dev/null  # warm-up
  runs=$(for _ in 1 2 3; do rps 8; done | tr '\n' ' ')
  median=$(echo "$runs" | python3 -c 'import statistics,sys; print(round(statistics.median(map(int, sys.stdin.read().split()))))')
  echo "| $workers | $median | $runs|"
  kill "$server"; wait "$server" 2>/dev/null || true
  sleep 1
done
