#!/usr/bin/env bash
# Installs everything bench/ needs, idempotently (a second run does nothing):
#   Debian: wrk, nghttp2-client (h2load), node/npm must already be there (Node 20)
#   bench/.venvs/litellm   the LiteLLM proxy, pinned
#   bench/.venvs/tools     py-spy
#   bench/portkey/node_modules   Portkey's gateway, pinned (package.json + package-lock.json)
#   .venv                  llm-router's own venv (README's dev setup) if it is missing
# Usage: bench/setup.sh [--quick]   (--quick: only what `run.sh --quick` needs: wrk, node, .venv)
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$BENCH")"
QUICK=0
[[ "${1:-}" == "--quick" ]] && QUICK=1
LITELLM_VERSION="1.106.12"   # 1.108-1.110's [proxy] extra does not install today
PYSPY_VERSION="0.4.3"

say() { printf '[setup] %s\n' "$*" >&2; }

DEBS=()
command -v wrk >/dev/null || DEBS+=(wrk)
[[ $QUICK -eq 0 ]] && ! command -v h2load >/dev/null && DEBS+=(nghttp2-client)  # --quick needs wrk only
if [[ ${#DEBS[@]} -gt 0 ]]; then
  say "installing ${DEBS[*]} from Debian"
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${DEBS[@]}" >/dev/null
fi
command -v node >/dev/null || { say "node (20+) is required"; exit 1; }
command -v taskset >/dev/null || { say "taskset (util-linux) is required"; exit 1; }

if [[ ! -x "$ROOT/.venv/bin/llm-router" ]]; then
  say "creating llm-router's venv (.venv) as in README"
  python3 -m venv "$ROOT/.venv"
  "$ROOT/.venv/bin/pip" install -q -r "$ROOT/requirements-dev.lock"
  "$ROOT/.venv/bin/pip" install -q --no-deps -e "$ROOT"
fi
if ! "$ROOT/.venv/bin/python" -c 'import httpx' 2>/dev/null; then
  say "httpx (a dev dependency, for the floor_httpx variant) is missing from .venv: installing it"
  "$ROOT/.venv/bin/pip" install -q "httpx>=0.27,<1"
fi
[[ $QUICK -eq 1 ]] && exit 0

if [[ ! -x "$BENCH/.venvs/tools/bin/py-spy" ]]; then
  say "installing py-spy $PYSPY_VERSION into bench/.venvs/tools"
  python3 -m venv "$BENCH/.venvs/tools"
  "$BENCH/.venvs/tools/bin/pip" install -q "py-spy==$PYSPY_VERSION"
fi

if [[ ! -x "$BENCH/.venvs/litellm/bin/litellm" ]]; then
  say "installing litellm[proxy]==$LITELLM_VERSION into bench/.venvs/litellm (takes a minute)"
  python3 -m venv "$BENCH/.venvs/litellm"
  if ! "$BENCH/.venvs/litellm/bin/pip" install -q "litellm[proxy]==$LITELLM_VERSION" \
      > "$BENCH/.venvs/litellm-install.log" 2>&1; then
    say "LiteLLM did not install; see bench/.venvs/litellm-install.log (the run records it and goes on)"
    rm -f "$BENCH/.venvs/litellm/bin/litellm"
  fi
fi

if [[ ! -f "$BENCH/portkey/node_modules/@portkey-ai/gateway/build/start-server.js" ]]; then
  say "installing Portkey's gateway into bench/portkey"
  cd "$BENCH/portkey"
  if [[ -f package-lock.json ]]; then npm ci --no-audit --no-fund --loglevel=error >&2
  else npm install --no-audit --no-fund --loglevel=error >&2; fi \
    || say "Portkey did not install (the run records it and goes on)"
fi
say "ready"
