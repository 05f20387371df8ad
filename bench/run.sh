#!/usr/bin/env bash
# One command for the whole benchmark: installs its tools (bench/setup.sh), then runs
# `python -m bench` with the same arguments.
#   bench/run.sh            full run (~60 min): all systems, all scenarios, 3 reps, soak, profile
#   bench/run.sh --smoke    every scenario once, briefly (~8 min)
#   bench/run.sh --quick    <= 60 s regression guard: llm-router vs the Python floor
#   bench/run.sh --help     every option
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
cd "$(dirname "$BENCH")"
case " $* " in
  *" --help "*|*" -h "*) ;;
  *" --quick "*) bash "$BENCH/setup.sh" --quick ;;
  *) bash "$BENCH/setup.sh" ;;
esac
exec taskset -c 1 python3 -m bench "$@"
