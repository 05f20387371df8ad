"""python -m bench [--quick | --smoke] [options]   (bench/run.sh installs the tools first)

Full run: every system x every scenario x --reps, then the llm-router soak and profile;
writes bench/results/<UTC time>/{results.json,results.md,profile.svg,...} and, for a full
run, bench/RESULTS.md. --quick: llm-router vs the Python floor on every surface, throughput only
(~90 s), written to quick.json; --min-ratio guards the main one (/v1/chat/completions, OpenAI).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import procs, report
from bench.runner import Cells, Plan, log, profile, run_system, soak
from bench.systems import BENCH, LOAD_CORE, ROOT, all_systems, floor_surfaces, upstream_server


def _cmd(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _pyver(python: Path, *dists: str) -> dict[str, str]:
    code = ("import importlib.metadata as m, json, sys\nout = {}\nfor d in sys.argv[1:]:\n"
            "    try: out[d] = m.version(d)\n    except Exception: out[d] = 'not installed'\nprint(json.dumps(out))")
    try:
        return json.loads(_cmd(str(python), "-c", code, *dists) or "{}")
    except json.JSONDecodeError:
        return {}


def machine() -> dict[str, Any]:
    lscpu = _cmd("lscpu")
    model = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), "?")
    mem_kb = next((int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                   if ln.startswith("MemTotal")), 0)
    pk = BENCH / "portkey/node_modules/@portkey-ai/gateway/package.json"
    hono = BENCH / "portkey/node_modules/@hono/node-server/package.json"
    git_rev = _cmd("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD")
    dirty = _cmd("git", "-C", str(ROOT), "status", "--short", "--", "llm_router", "pyproject.toml")
    return {
        "nproc": _cmd("nproc", "--all"), "cpu_model": model, "mem_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(), "os": _cmd("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"),
        "python": platform.python_version(), "node": _cmd("node", "--version"),
        "wrk": _cmd("sh", "-c", "wrk --version 2>&1 | head -1"), "h2load": _cmd("sh", "-c", "h2load --version"),
        "llm_router": {"git": git_rev, "uncommitted_changes": dirty.splitlines(),
                       **_pyver(ROOT / ".venv/bin/python", "llm-router-gateway", "fastapi", "starlette", "uvicorn",
                                "uvloop", "httptools", "aiohttp", "httpx", "orjson", "pydantic")},
        "litellm": _pyver(BENCH / ".venvs/litellm/bin/python", "litellm", "uvicorn", "fastapi", "uvloop", "httpx",
                          "aiohttp") if (BENCH / ".venvs/litellm/bin/python").exists() else {},
        "portkey": {"@portkey-ai/gateway": json.loads(pk.read_text())["version"] if pk.exists() else "missing",
                    "@hono/node-server": json.loads(hono.read_text())["version"] if hono.exists() else "missing"},
        "py_spy": _cmd(str(BENCH / ".venvs/tools/bin/py-spy"), "--version"),
        "cpuidle": _cmd("cat", "/sys/devices/system/cpu/cpuidle/current_driver"),
        "idle_params": " ".join(w for w in Path("/proc/cmdline").read_text().split() if "haltpoll" in w or "idle" in w),
    }


def pin_self() -> None:
    try:
        os.sched_setaffinity(0, {int(LOAD_CORE)})  # the orchestrator stays off the gateway's core
    except OSError:
        pass


#: --quick: (surface, llm-router target, the floor's target on the same client path)
QUICK_SURFACES = (
    ("chat-openai", "llm-router/openai", "floor-aiohttp/openai"),  # the main ratio (--min-ratio)
    ("chat-anthropic", "llm-router/anthropic", "floor-aiohttp/openai"),
    ("messages-anthropic", "llm-router/messages-anthropic", "floor-aiohttp/messages"),
    ("messages-openai", "llm-router/messages-openai", "floor-aiohttp/messages"),
    ("responses-openai", "llm-router/responses-openai", "floor-aiohttp/responses"),
    ("responses-anthropic", "llm-router/responses-anthropic", "floor-aiohttp/responses"),
    ("embeddings", "llm-router/embeddings", "floor-aiohttp/embeddings"),
    ("policies", "llm-router-policies/openai", "floor-aiohttp/openai"),
)


def _run(cells: Cells, t: Any, seconds: float, pids: list[int]) -> dict[str, float]:
    """One wrk c50 run: requests, wall seconds, and the CPU seconds the gateway's processes used."""
    c0 = procs.cpu_seconds(pids)
    d, _cpu = cells.wrk(t, 50, seconds)
    cpu = procs.cpu_seconds(pids) - c0
    errors = sum(d["errors"].values())
    if errors:
        log(f"  {t.name}: {errors} errors")
    return {"requests": d["requests"], "wall_s": d["duration_us"] / 1e6, "cpu_s": cpu, "errors": errors}


def quick(out: Path, seconds: float, min_ratio: float | None, surface_s: float = 2.0) -> int:
    """llm-router vs the floor, wrk c50, alternating: the main pair 3 x ``seconds``, every other
    surface 2 x ``surface_s`` (and the policies row against the plain one)."""
    systems = {s.name: s for s in all_systems()}
    targets = {t.name: t for s in systems.values() for t in s.targets}
    targets.update({t.name: t for t in floor_surfaces()})
    up = upstream_server(out)
    up.start(timeout=20)
    servers = {n: systems[n].make_server(out) for n in ("llm-router", "floor-aiohttp", "llm-router-policies")}
    try:
        for s in servers.values():
            s.start(timeout=30)
        pids = {n: s.pids() for n, s in servers.items()}
        cells = Cells(out, up)
        order = list(dict.fromkeys(x for _, a, b in QUICK_SURFACES for x in (a, b)))
        runs: dict[str, list[dict[str, float]]] = {n: [] for n in order}
        main = QUICK_SURFACES[0][1:]
        rest = [n for n in order if n not in main]
        for n in main:
            cells.wrk(targets[n], 50, 2)
        for _ in range(3):
            for n in main:
                runs[n].append(_run(cells, targets[n], seconds, pids[targets[n].system]))
        for n in rest:
            cells.wrk(targets[n], 50, 1)
        for _ in range(2):
            for n in rest:
                runs[n].append(_run(cells, targets[n], surface_s, pids[targets[n].system]))
        return _quick_report(out, runs, min_ratio)
    finally:
        for s in servers.values():
            s.stop()
        up.stop()


def _quick_report(out: Path, runs: dict[str, list[dict[str, float]]], min_ratio: float | None) -> int:
    """Per core = requests per CPU-second of the gateway's processes (what one core, fully given,
    would serve; robust to other load on the machine); req/s = wall clock, median of the runs."""
    per_core = {n: sum(r["requests"] for r in v) / max(1e-9, sum(r["cpu_s"] for r in v)) for n, v in runs.items()}
    wall = {n: statistics.median(r["requests"] / r["wall_s"] for r in v) for n, v in runs.items()}
    surfaces: dict[str, Any] = {}
    print(f"{'surface':20} {'router/core':>11} {'floor/core':>10} {'÷ floor':>8} {'÷ chat-openai':>13}"
          f" {'wall ÷ floor':>12}   wall req/s per run (router / floor)")
    for name, router, floor in QUICK_SURFACES:
        surfaces[name] = {
            "router": router, "floor": floor, "ratio": per_core[router] / per_core[floor],
            "vs_chat_openai": per_core[router] / per_core["llm-router/openai"],
            "router_per_core": per_core[router], "floor_per_core": per_core[floor],
            "wall_ratio": wall[router] / wall[floor], "router_runs": runs[router], "floor_runs": runs[floor]}
        x = surfaces[name]
        walls = " / ".join(", ".join(f"{r['requests'] / r['wall_s']:,.0f}" for r in runs[n]) for n in (router, floor))
        print(f"{name:20} {x['router_per_core']:>11,.0f} {x['floor_per_core']:>10,.0f} {x['ratio']:>8.3f} "
              f"{x['vs_chat_openai']:>13.3f} {x['wall_ratio']:>12.3f}   {walls}")
    main = surfaces["chat-openai"]["ratio"]
    print(f"llm-router / Python floor: {main:.3f} ({100 * main:.1f}% of the floor's requests per core), "
          "non-streaming /v1/chat/completions on an OpenAI upstream, wrk c50")
    print(f"policies on / off: {surfaces['policies']['vs_chat_openai']:.3f} "
          "(virtual key with rpm/tpm limits and a budget, SQLite ledger)")
    (out / "quick.json").write_text(json.dumps({
        "ratio": main, "metric": "requests per gateway CPU-second, llm-router / floor-aiohttp",
        "policies_vs_plain": surfaces["policies"]["vs_chat_openai"], "surfaces": surfaces}, indent=1))
    print(f"wrote {out / 'quick.json'}")
    if min_ratio is not None and main < min_ratio:
        print(f"REGRESSION: ratio {main:.3f} < --min-ratio {min_ratio}")
        return 1
    return 0


def full(out: Path, plan: Plan, only: list[str] | None, do_soak: bool, do_profile: bool,
         write_results_md: bool, label: str, surfaces: bool = True) -> int:
    started = time.time()
    info = machine()
    # Others edit the tree while a run goes on: every llm-router start in this run imports
    # this copy (PYTHONPATH wins over the editable install), so all repetitions measure one code.
    shutil.copytree(ROOT / "llm_router", out / "src/llm_router", ignore=shutil.ignore_patterns("__pycache__"))
    info["llm_router"]["measured"] = f"snapshot of the working tree at the start, {out / 'src/llm_router'}"
    systems = [s for s in all_systems() if not only or s.name in only]
    if not surfaces:  # the /v1/chat/completions and /chat/ rows only (the grid before the surfaces)
        systems = [s for s in systems if s.name != "llm-router-policies"]
        for s in systems:
            s.targets = [t for t in s.targets if t.main]
    up = upstream_server(out)
    up.start(timeout=20)
    cells = Cells(out, up, plan.quiet_limit_s, plan.max_attempts)
    sysinfo: list[dict[str, Any]] = []
    soak_res: dict[str, Any] | None = None
    prof: dict[str, Any] | None = None
    plan_d = {"reps": plan.reps, "tput_conc": list(plan.tput_conc), "tput_s": plan.tput_s,
              "lat": [list(x) for x in plan.lat], "stream_conc": list(plan.stream_conc), "stream_s": plan.stream_s,
              "soak_minutes": plan.soak_minutes, "soak_rate": plan.soak_rate, "profile_s": plan.profile_s}
    data: dict[str, Any] = {}

    def save() -> None:
        up_cpu = procs.cpu_seconds([up.pid]) if up.proc and up.proc.poll() is None else None
        data.update({"label": label, "started": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
                     "minutes": (time.time() - started) / 60, "machine": info, "plan": plan_d,
                     "systems": sysinfo, "cells": cells.results, "soak": soak_res, "profile": prof,
                     "unavailable": {s.name: s.unavailable for s in systems if s.unavailable},
                     "upstream_cpu_s_total": up_cpu})
        (out / "results.json").write_text(json.dumps(data, indent=1, default=str))

    try:
        for rep in range(1, plan.reps + 1):
            order = systems[rep - 1:] + systems[:rep - 1]  # rotate so no system always goes first
            log(f"=== repetition {rep}/{plan.reps}: {', '.join(s.name for s in order)}")
            for system in order:
                if system.unavailable:
                    log(f"skipping {system.name}: {system.unavailable}")
                    continue
                sysinfo.append(run_system(cells, plan, system, rep, out))
                save()
        router = next((s for s in systems if s.name == "llm-router"), None)
        if router and do_soak:
            soak_res = _guarded("soak", lambda: soak(plan, router, out, up))
            save()
        if router and do_profile:
            prof = _guarded("profile", lambda: profile(plan, router, out, up))
    finally:
        save()
        up.stop()
    res = report.Results(data)
    md = results_markdown(res, data, out)
    (out / "results.md").write_text(md)
    results_dir = BENCH / "results"
    if (out / "profile.svg").exists() and out.parent == results_dir:
        shutil.copy(out / "profile.svg", results_dir / "profile.svg")
    if write_results_md:
        (BENCH / "RESULTS.md").write_text(md)
        log("wrote bench/RESULTS.md")
    log(f"done in {(time.time() - started) / 60:.1f} min: {out}/results.md")
    return 0


def _guarded(name: str, step: Any) -> dict[str, Any]:
    """Run one optional step of the full run; its failure is recorded, not fatal."""
    try:
        result: dict[str, Any] = step()
        return result
    except Exception as exc:
        log(f"!! {name}: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}


def headline(res: report.Results) -> str:
    rows = []
    first = ["llm-router/openai", "llm-router/anthropic", "llm-router/chat"]
    rest = ["portkey/openai", "litellm/openai", "floor-aiohttp/openai", "floor-httpx/openai", "direct/openai"]
    router_rows = [t for t in res.targets() if t.startswith("llm-router") and t not in first]
    for t in first + router_rows + rest:
        if t not in res.targets():
            continue
        system = t.split("/")[0]
        f = report.fmt
        rows.append([t, f(res.cell(t, "throughput", "c50", "rps"), 4),
                     f(res.added(t, "latency", "20rps", "p50_ms")), f(res.added(t, "latency", "20rps", "p99_ms")),
                     f(res.added(t, "stream-paced", "10x", "ttft_p50_ms")),
                     f(res.cell(t, "stream", "50x", "streams_per_s"), 4),
                     f(res.cell(t, "throughput", "c50", "gw_cpu_per_1k_s")),
                     f(res.sysinfo(system, "rss_idle_mb"), 3) if system != "direct" else "—",
                     f(res.sysinfo(system, "peak_rss_mb"), 3) if system != "direct" else "—"])
    return report._table(["target", "req/s @c50", "added p50 ms @20 req/s", "added p99 ms @20 req/s",
                          "added TTFT p50 ms (10 paced streams)", "streams/s (50, back to back)",
                          "CPU s / 1k req @c50", "idle RSS MB", "peak RSS MB"], rows)


def results_markdown(res: report.Results, data: dict[str, Any], out: Path) -> str:
    m, plan = data["machine"], data["plan"]
    lr, ll, pk = m["llm_router"], m.get("litellm", {}), m.get("portkey", {})
    targets_md, _ = report.targets(res, data.get("soak") if data.get("soak") and "error" not in data["soak"] else None)
    soak = data.get("soak")
    soak_md = (report.soak_table(soak) if soak and "error" not in soak else
               f"Soak not run or failed: {soak.get('error') if soak else 'skipped'}")
    failures = [*res.system_errors(), *[f"{k}: {v}" for k, v in data.get("unavailable", {}).items()]]
    dirty = lr.get("uncommitted_changes") or []
    rel = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    return f"""# Benchmark: llm-router vs LiteLLM, Portkey and a Python floor, one core each

Generated by `bench/run.sh` ({data['label']}) — started {data['started']} UTC, took {data['minutes']:.0f} min,
{plan['reps']} repetitions of every cell. Every number is the **median over the repetitions with the range
(min–max) in brackets**. Raw data and per-process logs: `{rel}/` (not committed: `bench/results/` is ignored).

Reproduce: `bench/run.sh` (installs wrk, h2load, LiteLLM, Portkey and py-spy on first use, then runs everything,
~{data['minutes']:.0f} min); `bench/run.sh --smoke` runs every scenario once, briefly (~10 min);
`bench/run.sh --quick` is the ~90 s regression guard (llm-router ÷ the Python floor on every surface, throughput only).
`bench/run.sh --help` lists the knobs (`--reps`, `--soak-minutes`, `--only`, ...).

## Machine and versions

| | |
| --- | --- |
| CPU | {m['cpu_model']}, `nproc --all` = {m['nproc']} (a VM; cpuidle driver `{m.get('cpuidle') or '?'}`{', `' + m['idle_params'] + '`' if m.get('idle_params') else ''}: see Method on idle wake-ups) |
| memory | {m['mem_gib']} GiB |
| OS, kernel | {m['os']}, {m['kernel']} |
| Python / Node | {m['python']} / {m['node']} |
| llm-router | {lr.get('llm-router-gateway')} at git {lr.get('git')}{' + uncommitted changes in ' + ', '.join(x.split()[-1] for x in dirty) if dirty else ''} (the working tree was copied at the start of the run and every start imports that copy); fastapi {lr.get('fastapi')}, starlette {lr.get('starlette')}, uvicorn {lr.get('uvicorn')}, uvloop {lr.get('uvloop')}, httptools {lr.get('httptools')}, aiohttp {lr.get('aiohttp')}, orjson {lr.get('orjson')}, pydantic {lr.get('pydantic')} |
| LiteLLM proxy | litellm {ll.get('litellm', 'not installed')} (uvicorn {ll.get('uvicorn', '?')}, fastapi {ll.get('fastapi', '?')}, uvloop {ll.get('uvloop', '?')}), own venv `bench/.venvs/litellm` |
| Portkey gateway | @portkey-ai/gateway {pk.get('@portkey-ai/gateway')} with @hono/node-server {pk.get('@hono/node-server')} (npm override), Node {m['node']} |
| Python floor | `bench/floor.py` (aiohttp {lr.get('aiohttp')}) and `bench/floor_httpx.py` (httpx {lr.get('httpx')}), uvicorn + uvloop + httptools, llm-router's venv |
| load | {m['wrk']}; `bench/loadgen.js` (Node); {m['h2load']} installed but not used (see Method) |
| profiler | {m['py_spy']} |

## Headline

{headline(res)}

"added" = the same statistic for the direct upstream in the same repetition, subtracted. llm-router/anthropic
is compared with the direct Anthropic endpoint; every other target with the direct OpenAI endpoint.

### What llm-router adds over the Python floor (per repetition: llm-router minus floor-aiohttp, ms)

The floor is the cheapest possible proxy hop on the same stack, so this is llm-router's own cost: parsing,
validation, routing, translation, re-encoding, middleware, logging.

{report.own_cost(res)}

## Targets

{targets_md}

## Surfaces and policies (each row ÷ the row it is compared with, per repetition)

`/v1/messages` on an Anthropic upstream is a pass-through, on an OpenAI upstream translated both ways;
`/v1/responses` the same the other way round; `/v1/embeddings` one input, base64 (the SDKs' default),
1536 dimensions. `llm-router-policies` is llm-router with the admin plane on (`LLM_ROUTER_ADMIN_KEY`,
SQLite `LLM_ROUTER_DATABASE_URL` in the run's folder) and every request sent with a virtual key created
through `POST /admin/keys` (rpm and tpm limits far above these rates, a budget far from spent); it is
compared with llm-router without them in the same repetition. Surface rows run the cells the targets
need (20 req/s open loop, wrk c50, 50 streams back to back, 10 paced streams), not the whole grid.

{report.surfaces(res)}

## Ratios (per repetition, then median and range)

{report.ratios(res, plan)}

A CPU-per-request ratio below 1 means llm-router uses less CPU per request than the other system.

## All cells

{report.tables(res, plan)}

## Soak (llm-router)

{soak_md}

## What limits us

py-spy {m['py_spy'].split()[-1] if m['py_spy'] else ''} attached to llm-router (one worker, core 0) while wrk drives
`/v1/chat/completions` (model `openai`, non-streaming) at 50 connections; {plan['profile_s']:g} s at 250 Hz,
`--nonblocking`. Flame graph: `bench/results/profile.svg`; collapsed stacks: `{rel}/profile.txt`.

{report.profile_md(data.get('profile'))}

### The same under streaming (10 concurrent 30-chunk streams back to back, `/v1/chat/completions`, model `openai`)

Collapsed stacks: `{rel}/profile-stream.txt`.

{report.profile_md(data.get('profile'), key='stream_summary')}

## httpx vs aiohttp as the upstream client (the Python floor, same load)

{report.httpx_vs_aiohttp(res, plan)}

## Method

- **Idle wake-ups dominate low-rate latency here.** This is a VM whose idle vCPUs halt without polling
  (`{m.get('cpuidle') or '?'}`{', ' + m['idle_params'] if m.get('idle_params') else ''}), so every wake-up from idle
  costs a VM exit and re-entry, a few hundred µs. At 20 req/s every core is idle between requests and each
  hop pays it: the direct upstream's own p50 is higher at 20 req/s than at 500 req/s, and even the do-nothing
  Python floor "adds" about a millisecond at 20 req/s. We do not change the machine's power settings (no
  `/dev/cpu_dma_latency`, no idle=poll); read the 20 req/s "added" numbers next to the floor's, and see
  "What llm-router adds over the Python floor".
- **Pinning.** Each system under test runs alone on core 0 (`taskset -c 0`, one process / one uvicorn
  worker); the fake upstream, the load generators, py-spy and the orchestrator share core 1
  (`taskset -c 1`). Systems are started fresh in each repetition, one at a time, in a rotated order.
  Core 1 is shared, so the *direct* baseline at high concurrency is limited by core 1, not by the upstream's
  design; the "upstream core" column shows the upstream never came near a full core while a gateway was
  measured.
- **Fake upstream** `bench/upstream.js`: Node `http`, no dependencies. `POST /v1/chat/completions` answers a
  ~800-byte `chat.completion`, or an SSE stream (role chunk, 30 content chunks, finish chunk, usage chunk
  with `stream_options.include_usage`, `data: [DONE]`); `POST /v1/messages` speaks Anthropic Messages (JSON,
  or message_start, content_block_start, content_block_delta ×30, content_block_stop, message_delta with
  usage, message_stop); `POST /v1/responses` OpenAI Responses (a `response` object, or response.created,
  in_progress, output_item/content_part added, output_text.delta ×30, the done events, response.completed
  with usage); `POST /v1/embeddings` one 1536-dimension vector per input, float or base64. Chunk count and
  inter-chunk delay come from env (`UPSTREAM_CHUNKS`,
  `UPSTREAM_CHUNK_DELAY_MS`), the query string (`?chunks=&delay=`) or `POST /_bench/config`; it counts
  requests and its own CPU is read from /proc around each cell.
- **Throughput**: `wrk -t1 -cN -d{plan['tput_s']:g}s` with `bench/post.lua` (POST body from a file, extra
  headers, JSON summary), after a {2:g} s warm-up per target.
- **Open-loop latency**: wrk2 is not in Debian, and `h2load --rps` is not open-loop over HTTP/1.1 (`--h1`:
  each client is one connection that sends its next request only after the previous answer, so a slow server
  slows the sender — coordinated omission), and h2load reports no percentiles. So `bench/loadgen.js` (Node)
  sends request *i* at t0 + i/rate regardless of outstanding requests (keep-alive pool up to 512 sockets;
  beyond 512 in flight a request is dropped and the cell marked saturated), latency from hand-off to the
  socket layer to the last byte; {plan['lat'][0][1]:g} s at {plan['lat'][0][0]} req/s, {plan['lat'][1][1]:g} s at
  {plan['lat'][1][0]} req/s, each after 1 s of warm-up. A system that cannot keep the rate is marked ⚠ saturated:
  its latency is then queueing, not overhead.
- **Streams**: `bench/loadgen.js` closed loop, 10 or 50 concurrent 30-chunk streams back to back for
  {plan['stream_s']:g} s. TTFT = request sent → first body bytes carrying a non-empty content token (OpenAI SSE
  `"content":"x`, Anthropic `"text":"x`, or the first byte of `/chat/`'s text/plain stream); full stream = until
  the last byte, checked to end with `[DONE]` / `message_stop`. "Back to back" (0 ms between chunks) measures
  capacity (streams/s); "paced" (5 ms between chunks, ~150 ms per stream) measures the added TTFT and
  full-stream time of a gateway that is not saturated.
- **CPU per 1,000 requests**: utime + stime of the system's process tree from `/proc/PID/stat` before and
  after the cell, divided by the requests the upstream saw in that cell (warm-up included on both sides).
- **Memory**: VmRSS of the process tree 2 s after start ("fresh") and after a warm-up of every path
  ("idle"); peak = VmHWM at the end of the repetition.
- **Soak**: llm-router alone, open loop at a steady rate with a mix of requests, RSS and open FDs
  (`/proc/PID/fd`) sampled every {10:g} s; RSS growth = mean of the last minute's samples over the first
  minute's after warm-up. Open FDs under load follow the connection pools (clients in flight, upstream
  connections kept alive), so the FD target compares the idle counts: before the soak, and once its load
  has stopped and idle connections have closed (polled up to 60 s); a leaked descriptor outlives the load.
- **LiteLLM**: `litellm --config <json> --num_workers 1` with a model `bench-openai` →
  `openai/gpt-4.1-mini` at `api_base` = the upstream, a master key (it refuses to start without one),
  `LITELLM_LOCAL_MODEL_COST_MAP=True` (no price-map fetch at start-up) and `LITELLM_LOG=ERROR` (its
  production advice; also silences the per-request access log). No database, no callbacks.
- **Portkey**: `node build/start-server.js --headless` with `NODE_ENV=production`, pinned
  `@portkey-ai/gateway` and an npm `overrides` of `@hono/node-server` to 1.13.8 (Portkey 1.15.2's streams fail
  on Node 20 with newer versions). Routed with `x-portkey-provider: openai` and
  `x-portkey-custom-host: http://127.0.0.1:9100/v1`. **Portkey holds the first streamed chunk ~25 ms by
  design**, which shows in its TTFT; its throughput numbers are not affected by that.
- **llm-router**: `.venv/bin/llm-router serve` (uvicorn, uvloop, httptools, access log off), default settings,
  `OPENAI_BASE_URL` / `ANTHROPIC_BASE_URL` pointed at the upstream with dummy keys, run from an empty directory
  (no `.env`). Targets: `/v1/chat/completions` with model `openai` (the headline) and `anthropic`
  (translation both ways), and `/chat/` with `chat_model_name` `openai`.
- **Python floor**: `bench/floor.py`, a raw ASGI app on uvicorn (uvloop + httptools) with one shared aiohttp
  `ClientSession` that forwards the body and streams the bytes back — no parsing, validation or translation:
  the least any gateway on our stack can cost. `bench/floor_httpx.py` is the same with httpx.

## Interference from other processes

This machine is shared (other sessions build, test and benchmark on it). {report.noise(res)}

## Failures and omissions

{chr(10).join('- ' + f for f in failures) if failures else 'None: every system started and every cell ran.'}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true",
                      help="llm-router vs the Python floor on every surface, throughput only (~90 s)")
    mode.add_argument("--smoke", action="store_true", help="every scenario once, briefly (~10 min)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=float, default=6.0, help="seconds per throughput and stream cell")
    ap.add_argument("--lat-duration", type=float, default=None,
                    help="seconds per open-loop latency cell (default 20 at 20 req/s, 10 at 500 req/s)")
    ap.add_argument("--soak-minutes", type=float, default=10.0)
    ap.add_argument("--soak-rate", type=int, default=200)
    ap.add_argument("--profile-seconds", type=float, default=20.0)
    ap.add_argument("--only", help="comma-separated systems: direct,llm-router,llm-router-policies,litellm,portkey,"
                                   "floor-aiohttp,floor-httpx")
    ap.add_argument("--no-surfaces", action="store_true",
                    help="only the /v1/chat/completions and /chat/ rows (no messages, responses, embeddings, policies)")
    ap.add_argument("--no-soak", action="store_true")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--no-results-md", action="store_true", help="do not (over)write bench/RESULTS.md")
    ap.add_argument("--min-ratio", type=float, default=None, help="--quick: exit 1 below this ratio")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default bench/results/<time>)")
    ap.add_argument("--report", type=Path, default=None, metavar="DIR",
                    help="only rebuild DIR/results.md from DIR/results.json (and bench/RESULTS.md with --results-md)")
    ap.add_argument("--results-md", action="store_true", help="with --report: also write bench/RESULTS.md")
    args = ap.parse_args(argv)
    if args.report:
        data = json.loads((args.report / "results.json").read_text())
        md = results_markdown(report.Results(data), data, args.report.resolve())
        (args.report / "results.md").write_text(md)
        if args.results_md:
            (BENCH / "RESULTS.md").write_text(md)
        print(f"wrote {args.report / 'results.md'}" + (" and bench/RESULTS.md" if args.results_md else ""))
        return 0
    pin_self()
    for tool in ("wrk", "node", "taskset"):
        if not shutil.which(tool):
            print(f"{tool} not found: run bench/setup.sh first (bench/run.sh does)", file=sys.stderr)
            return 2
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    label = "quick" if args.quick else "smoke" if args.smoke else "full"
    out = args.out or BENCH / "results" / (stamp if label == "full" else f"{stamp}-{label}")
    out.mkdir(parents=True, exist_ok=True)
    if args.quick:
        return quick(out, seconds=4.0, min_ratio=args.min_ratio)
    plan = Plan(reps=args.reps, tput_s=args.duration, stream_s=args.duration,
                soak_minutes=args.soak_minutes, soak_rate=args.soak_rate, profile_s=args.profile_seconds)
    if args.lat_duration:
        plan.lat = ((20, args.lat_duration), (500, args.lat_duration))
    if args.smoke:
        plan = Plan(reps=1, tput_s=2.0, lat=((20, 4.0), (500, 2.0)), stream_s=2.0, warmup_s=1.0,
                    soak_minutes=min(args.soak_minutes, 0.5), soak_rate=args.soak_rate, soak_sample_s=5.0,
                    profile_s=3.0, quiet_limit_s=1.0, max_attempts=1)
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    if only and "direct" not in only:
        only.append("direct")  # every "added" number needs the baseline
    write_md = label == "full" and not args.no_results_md and not only
    return full(out, plan, only, not args.no_soak, not args.no_profile, write_md, label, not args.no_surfaces)


if __name__ == "__main__":
    sys.exit(main())
