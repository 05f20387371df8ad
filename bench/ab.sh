#!/usr/bin/env bash
# A/B two versions of llm_router/ on the same load: requests per CPU-second of each server.
#   bench/ab.sh [ROUNDS] [SECONDS]      A = HEAD, B = the working tree (defaults: 4 rounds of 5 s)
#   A_SRC=dir B_SRC=dir bench/ab.sh     any two folders that each hold an llm_router/ package
#   AB_BODY='{"model":"anthropic",...}' AB_PATH=/v1/chat/completions bench/ab.sh
#   A_BIN=.venv/bin/llm-router B_BIN=/other/venv/bin/llm-router bench/ab.sh   two interpreters
#   AB_POLICIES=1 bench/ab.sh   both with the admin plane on (SQLite, each its own file) and every
#                               request on a virtual key with limits and a budget (bench/systems.py's)
# Both servers run at once, each `llm-router serve` pinned to core 0 (one at a time under load),
# wrk c50 and bench/upstream.js on core 1; the rounds alternate A, B, A, B... and each server's
# CPU time (all its threads, /proc) is read around its own round. The figure to read is the
# total "req per CPU-s": it moves much less with other load on the machine than req/s does.
# Needs wrk (bench/setup.sh) and Node. Takes ROUNDS x 2 x SECONDS plus ~10 s.
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$BENCH")"
ROUNDS=${1:-4}
SECS=${2:-5}
AB_PATH=${AB_PATH:-/v1/chat/completions}
AB_BODY=${AB_BODY:-'{"model":"openai","messages":[{"role":"user","content":"hi"}]}'}
OUT=$(mktemp -d /tmp/llm-router-ab.XXXXXX)
mkdir -p "$OUT/cwd"
if [ -z "${A_SRC:-}" ]; then A_SRC=$OUT/A; mkdir -p "$A_SRC"; git -C "$ROOT" archive HEAD llm_router | tar -x -C "$A_SRC"; fi
B_SRC=${B_SRC:-$ROOT}
UP=$((20000 + RANDOM % 5000)); PORT_A=$((25000 + RANDOM % 2000)); PORT_B=$((27000 + RANDOM % 2000))
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; }
trap cleanup EXIT
UPSTREAM_PORT=$UP taskset -c 1 node "$BENCH/upstream.js" > "$OUT/upstream.log" 2>&1 &
PIDS+=($!)
ADMIN_KEY=bench-admin-key-0123456789abcdef-0123456789
start() {  # start NAME SRC PORT BIN: BIN (an llm-router executable) serving llm_router from SRC
  local policies=()
  [ -n "${AB_POLICIES:-}" ] && policies=(LLM_ROUTER_ADMIN_KEY=$ADMIN_KEY "LLM_ROUTER_DATABASE_URL=sqlite:///$OUT/$1.db")
  (cd "$OUT/cwd" && exec env "${policies[@]}" PYTHONPATH="$2" OPENAI_API_KEY=sk-bench-upstream-dummy \
     OPENAI_BASE_URL="http://127.0.0.1:$UP/v1" ANTHROPIC_API_KEY=sk-ant-bench-dummy \
     ANTHROPIC_BASE_URL="http://127.0.0.1:$UP" taskset -c 0 "$4" serve --port "$3" \
     > "$OUT/$1.log" 2>&1) &
  PIDS+=($!)
}
start A "$A_SRC" "$PORT_A" "${A_BIN:-$ROOT/.venv/bin/llm-router}"
start B "$B_SRC" "$PORT_B" "${B_BIN:-$ROOT/.venv/bin/llm-router}"
for port in "$PORT_A" "$PORT_B"; do
  for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/health" > /dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$port/health" > /dev/null || { echo "a server did not start: $OUT" >&2; exit 1; }
done
virtual_key() {  # a virtual key of the server on port $1, as bench/systems.py's POLICY_KEY
  "$ROOT/.venv/bin/python" - "$1" "$ADMIN_KEY" <<'PY'
import json, sys, urllib.request
sys.path.insert(0, "bench")
from systems import POLICY_KEY
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/admin/keys", data=json.dumps(POLICY_KEY).encode(),
                             headers={"content-type": "application/json", "authorization": f"Bearer {sys.argv[2]}"})
print(json.load(urllib.request.urlopen(req))["key"])
PY
}
for name in A B; do
  port=$PORT_A; [ "$name" = B ] && port=$PORT_B
  auth=""
  [ -n "${AB_POLICIES:-}" ] && auth="wrk.headers[\"Authorization\"] = \"Bearer $(cd "$ROOT" && virtual_key "$port")\""
  cat > "$OUT/post-$name.lua" <<LUA
wrk.method = "POST"
wrk.body = '$AB_BODY'
wrk.headers["Content-Type"] = "application/json"
$auth
LUA
done
ticks() {  # CPU ticks (user + system, all threads) of the server on port $1; fails if it is gone
  local pid; pid=$(pgrep -f -- "serve --port $1" | tail -1)
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || { echo "the server on port $1 is gone: $OUT" >&2; return 1; }
  awk '{print $14 + $15}' "/proc/$pid/stat"
}
load() {  # load SECONDS PORT NAME
  timeout $((SECS + 30)) taskset -c 1 wrk -t1 -c50 -d"$1"s -s "$OUT/post-$3.lua" "http://127.0.0.1:$2$AB_PATH"
}
load 2 "$PORT_A" A > /dev/null; load 2 "$PORT_B" B > /dev/null  # warm-up
for round in $(seq "$ROUNDS"); do
  for name in A B; do
    port=$PORT_A; [ "$name" = B ] && port=$PORT_B
    before=$(ticks "$port")
    result=$(load "$SECS" "$port" "$name")
    after=$(ticks "$port")
    requests=$(awk '/requests in/ {print $1}' <<< "$result")
    bad=$(awk '/Non-2xx/ {print $NF}' <<< "$result")
    echo "$name $requests $((after - before)) ${bad:-0}" >> "$OUT/rounds"
    awk -v r="$round" '{printf "round %s %s: %d requests, %d CPU ticks, %.0f req per CPU-s, non-2xx %s\n", r, $1, $2, $3, $2 * 100 / $3, $4}' \
      <<< "$name $requests $((after - before)) ${bad:-0}"
  done
done
awk '{n[$1] += $2; t[$1] += $3} END {printf "A %.0f req per CPU-s, B %.0f: B / A = %.3f\n", n["A"] * 100 / t["A"], n["B"] * 100 / t["B"], (n["B"] / t["B"]) / (n["A"] / t["A"])}' "$OUT/rounds"
echo "logs: $OUT"
