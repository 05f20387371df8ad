#!/usr/bin/env bash
# The CI benchmark guard: a gross-regression check, not a timing test.
#   bench/ci_guard.sh
# Installs wrk from Debian when it is missing, runs `bench/run.sh --quick` (~90 s: llm-router ÷ the
# Python floor on every surface, requests per gateway CPU-second), prints every ratio, and exits
#   0  the main ratio (/v1/chat/completions, OpenAI upstream) is at least half of bench/QUICK_BASELINE
#   1  it is below half of it (a regression)
#   2  the benchmark could not run (wrk could not be installed, a server did not start, ...)
# After a deliberate change of speed, record the new main ratio (quick.json's "ratio") in QUICK_BASELINE.
set -uo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
say() { printf '[bench-guard] %s\n' "$*"; }

if ! command -v wrk >/dev/null; then
  say "installing wrk from Debian"
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null; } \
    || { say "wrk could not be installed"; exit 2; }
fi
baseline="$(tr -d '[:space:]' < "$BENCH/QUICK_BASELINE")"
min="$(python3 -c "import sys; print(round(float(sys.argv[1]) / 2, 4))" "$baseline")" \
  || { say "bench/QUICK_BASELINE is not a number: '$baseline'"; exit 2; }
out="$BENCH/results/$(date -u +%Y%m%dT%H%M%SZ)-ci-quick"
say "main ratio must be >= $min (half of QUICK_BASELINE $baseline)"
bash "$BENCH/run.sh" --quick --out "$out" --min-ratio "$min"
rc=$?
if [[ ! -f "$out/quick.json" ]]; then
  say "the benchmark did not finish (exit $rc); logs in $out/logs"
  exit 2
fi
ratio="$(python3 -c "import json, sys; print(round(json.load(open(sys.argv[1]))['ratio'], 3))" "$out/quick.json")"
if [[ $rc -eq 1 ]]; then
  say "REGRESSION: main ratio $ratio < $min (half of the recorded $baseline)"
  exit 1
fi
[[ $rc -eq 0 ]] || { say "the benchmark failed (exit $rc)"; exit 2; }
say "ok: main ratio $ratio (recorded $baseline, floor of the guard $min)"
