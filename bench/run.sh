#!/usr/bin/env bash
# One command for the whole benchmark: installs its tools (bench/setup.sh), then runs
# `python -m bench` with the same arguments.
#   bench/run.sh            full run (~85 min; ~60 with --no-surfaces): all systems, all scenarios, 3 reps, soak, profile
#   bench/run.sh --smoke    every scenario once, briefly (~10 min)
#   bench/run.sh --quick    ~90 s regression guard: llm-router ÷ the Python floor on every surface
#                           (quick.json; --min-ratio R: exit 1 when the main ratio is below R)
#   bench/run.sh --help     every option
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
cd "$(dirname "$BENCH")"
case " $* " in
  *" --help "*|*" -h "*) ;;
  *" --quick "*) bash "$BENCH/setup.sh" --quick ;;
  *) bash "$BENCH/setup.sh" ;;
esac
exec python3 -m bench "$@"  # it pins itself to the load core (bench/systems.py)
