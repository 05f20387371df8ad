"""granian against uvicorn for llm-router, and pyreqwest against aiohttp on the floor.

    python -m bench.servers [--seconds 5] [--rounds 3] [--only NAME,...] [--out DIR]

Every server runs alone on one core (the load and the upstream on the other), against the same
fake upstream (bench/upstream.js on its own port, so it never meets a running bench/run.sh):

- non-streaming: wrk c50 on /v1/chat/completions (model openai), `--rounds` runs alternating
  between the servers: wall req/s, and requests per CPU-second of the server's processes;
- streaming: 50 streams of 30 chunks back to back (streams/s, CPU per stream), 10 paced streams
  (5 ms between chunks: TTFT p50);
- a client disconnect: 20 streams whose upstream sends a chunk every 20 ms (600 ms in all) are
  dropped (TCP reset) after their first event: how many upstream streams the server closed, how
  fast, and whether it still serves afterwards with its open FDs back where they were;
- backpressure: one client that stops reading a 20,000-event (~4.5 MB) stream for 3 s: the
  server's RSS growth meanwhile, and whether the stream is complete when it reads again.

Needs bench/.venvs/granian (granian[uvloop] + pyreqwest, with llm-router's .venv on its path);
this script creates it on first use. Results: DIR/servers.json and a markdown table on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import socket
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import procs
from bench.runner import Cells, log
from bench.systems import (ANTHROPIC_KEY, BENCH, GATEWAY_CORE, LOAD_CORE, OPENAI_KEY, ROOT, Target,
                           openai_body)

GRANIAN_VERSION = "2.8.7"
PYREQWEST_VERSION = "0.15.1"
VENV = BENCH / ".venvs/granian"
UP_PORT = 9150
UP = f"http://127.0.0.1:{UP_PORT}"
PORT = 9301


def ensure_venv() -> None:
    """bench/.venvs/granian: granian and pyreqwest, and llm-router's venv on the path (a .pth)."""
    if (VENV / "bin/granian").exists():
        return
    log(f"installing granian {GRANIAN_VERSION} and pyreqwest {PYREQWEST_VERSION} into {VENV}")
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin/pip"), "install", "-q", f"granian[uvloop]=={GRANIAN_VERSION}",
                    f"pyreqwest=={PYREQWEST_VERSION}"], check=True)
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    ours = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()
    theirs = subprocess.run([str(VENV / "bin/python"), "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    Path(theirs, "llm_router_venv.pth").write_text(ours + "\n")


def router_env() -> dict[str, str]:
    return {"OPENAI_BASE_URL": f"{UP}/v1", "ANTHROPIC_BASE_URL": UP, "OPENAI_API_KEY": OPENAI_KEY,
            "ANTHROPIC_API_KEY": ANTHROPIC_KEY, "FLOOR_UPSTREAM": UP}  # default settings, as bench/run.sh


def granian(app: str, *extra: str) -> list[str]:
    return [str(VENV / "bin/granian"), "--interface", "asgi", "--host", "127.0.0.1", "--port", str(PORT),
            "--workers", "1", "--loop", "uvloop", "--no-ws", "--log-level", "warning", *extra, app]


#: name -> (command, what it is). Each is started alone, one core.
SERVERS: dict[str, tuple[list[str], str]] = {
    "uvicorn": ([str(ROOT / ".venv/bin/llm-router"), "serve", "--port", str(PORT)],
                "llm-router serve: uvicorn + uvloop + httptools (GuardedHttpProtocol), the drain wrapper"),
    "granian": (granian("llm_router.api.app:create_app", "--factory"),
                f"granian {GRANIAN_VERSION} --interface asgi --loop uvloop, 1 worker, 1 runtime thread"),
    "granian-rust-tasks": (granian("llm_router.api.app:create_app", "--factory", "--task-impl", "rust"),
                           "the same with --task-impl rust"),
    "floor-uvicorn": ([str(ROOT / ".venv/bin/python"), str(BENCH / "floor.py"), str(PORT)],
                      "bench/floor.py (aiohttp) on uvicorn + uvloop + httptools"),
    "floor-granian": (granian("bench.floor:app"), "bench/floor.py's app (aiohttp) on granian"),
    "floor-pyreqwest": ([str(VENV / "bin/python"), str(BENCH / "floor_pyreqwest.py"), str(PORT)],
                        f"bench/floor_pyreqwest.py (pyreqwest {PYREQWEST_VERSION}) on uvicorn"),
}


def up_config(chunks: int, delay_ms: float) -> None:
    procs.http_json(f"{UP}/_bench/config", json.dumps({"chunks": chunks, "delay_ms": delay_ms}).encode())


def up_stats() -> dict[str, Any]:
    s = procs.http_json(f"{UP}/_bench/stats")
    assert isinstance(s, dict)
    return s


def target() -> Target:
    body = openai_body("openai")
    return Target("server/openai", "server", f"http://127.0.0.1:{PORT}/v1/chat/completions", body,
                  {**body, "stream": True, "stream_options": {"include_usage": True}}, "sse", "")


def start(name: str, out: Path) -> procs.Server:
    cmd, _ = SERVERS[name]
    cwd = out / f"cwd-{name}"
    cwd.mkdir(parents=True, exist_ok=True)
    env = {**router_env(), "PYTHONPATH": str(ROOT)}
    server = procs.Server(name, cmd, core=GATEWAY_CORE, health_url=f"http://127.0.0.1:{PORT}/health",
                          log=out / f"logs/{name}.log", cwd=cwd, env=env)
    server.start(timeout=60)
    return server


def throughput(cells: Cells, server: procs.Server, seconds: float) -> dict[str, float]:
    pids = server.pids()
    c0 = procs.cpu_seconds(pids)
    d, _ = cells.wrk(target(), 50, seconds)
    cpu = procs.cpu_seconds(pids) - c0
    return {"rps": d["requests"] / (d["duration_us"] / 1e6), "per_cpu_s": d["requests"] / max(cpu, 1e-9),
            "p99_ms": d["latency_us"]["p99"] / 1000, "errors": sum(d["errors"].values())}


def streams(cells: Cells, server: procs.Server, conc: int, seconds: float, paced: bool) -> dict[str, Any]:
    up_config(30, 5.0 if paced else 0.0)
    pids = server.pids()
    c0 = procs.cpu_seconds(pids)
    try:
        spec = {"mode": "stream", "concurrency": conc, "duration": seconds, "warmup": 1.0, "timeout_ms": 30000,
                "requests": [Cells._req(target(), stream=True)]}
        d, _ = cells.loadgen(spec)
    finally:
        up_config(30, 0.0)
    cpu = procs.cpu_seconds(pids) - c0
    n = d["completed"] + d["started"]  # warm-up streams count for CPU too: roughly
    return {"streams_per_s": d["streams_per_s"], "ttft_p50_ms": d["ttft_ms"].get("p50"),
            "cpu_ms_per_stream": 1000 * cpu / max(1, n) if n else None, "errors": d["errors"]}


def _request(body: dict[str, Any]) -> bytes:
    raw = json.dumps(body).encode()
    return (f"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            f"content-length: {len(raw)}\r\n\r\n").encode() + raw


async def _drop_after_first_event(body: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    writer.write(body)
    await writer.drain()
    seen = b""
    while b"data:" not in seen:
        chunk = await asyncio.wait_for(reader.read(65536), 10)
        if not chunk:
            return
        seen += chunk
    writer.transport.abort()  # a reset, as a client killed mid-stream


def disconnect(server: procs.Server, n: int = 20) -> dict[str, Any]:
    """n streams dropped after their first event while the upstream is still sending."""
    up_config(30, 20.0)
    try:
        fds0 = procs.fd_count(server.pids())
        a0 = up_stats()["aborted"]
        body = _request({**target().stream_body, "stream": True})  # type: ignore[dict-item]
        t0 = time.monotonic()

        async def all_() -> None:
            await asyncio.gather(*(_drop_after_first_event(body) for _ in range(n)))

        asyncio.run(all_())
        t_dropped = time.monotonic()
        closed = 0
        while time.monotonic() - t_dropped < 5.0:  # the upstream streams last 600 ms if nobody closes them
            closed = up_stats()["aborted"] - a0
            if closed >= n:
                break
            time.sleep(0.01)
        closed_after = time.monotonic() - t_dropped
    finally:
        up_config(30, 0.0)
    ok = _healthy_stream()
    deadline = time.monotonic() + 5
    fds = procs.fd_count(server.pids())
    while fds > fds0 + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        fds = procs.fd_count(server.pids())
    return {"dropped": n, "upstream_closed": closed, "closed_within_ms": round(1000 * closed_after),
            "drop_s": round(t_dropped - t0, 3), "serves_after": ok, "fds_before": fds0, "fds_after": fds}


def _healthy_stream() -> bool:
    req = urllib.request.Request(target().url, data=json.dumps({**target().stream_body}).encode(),
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return b"[DONE]" in r.read()
    except OSError:
        return False


def backpressure(server: procs.Server, events: int = 20000, pause_s: float = 3.0) -> dict[str, Any]:
    """One client stops reading a long stream for ``pause_s``; how much the server buffers meanwhile."""
    up_config(events, 0.0)
    pids = server.pids()
    rss0 = procs.rss_mb(pids)

    async def run() -> dict[str, Any]:
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT, limit=2**16)
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        writer.write(_request({**target().stream_body}))  # type: ignore[arg-type]
        await writer.drain()
        first = await reader.read(4096)
        writer.transport.pause_reading()  # type: ignore[attr-defined]
        peak = rss0
        t_end = time.monotonic() + pause_s
        while time.monotonic() < t_end:
            await asyncio.sleep(0.2)
            peak = max(peak, procs.rss_mb(pids))
        writer.transport.resume_reading()  # type: ignore[attr-defined]
        rest = bytearray(first)
        while chunk := await asyncio.wait_for(reader.read(1 << 20), 30):
            rest += chunk
            if rest.endswith(b"0\r\n\r\n"):  # end of the chunked body
                break
        writer.close()
        return {"rss_before_mb": round(rss0, 1), "rss_peak_while_paused_mb": round(peak, 1),
                "growth_mb": round(peak - rss0, 1), "complete": b"[DONE]" in rest[-200:],
                "bytes": len(rest)}

    try:
        return asyncio.run(run())
    finally:
        up_config(30, 0.0)


def measure(names: list[str], out: Path, seconds: float, rounds: int) -> dict[str, Any]:
    up = procs.Server("upstream", [shutil.which("node") or "node", str(BENCH / "upstream.js")], core=LOAD_CORE,
                      health_url=f"{UP}/health", log=out / "logs/upstream.log", env={"UPSTREAM_PORT": str(UP_PORT)})
    up.start(timeout=20)
    cells = Cells(out, up)
    res: dict[str, Any] = {n: {"what": SERVERS[n][1], "throughput": []} for n in names}
    try:
        for rnd in range(rounds):  # alternate: every server once per round, the order rotated
            for name in names[rnd % len(names):] + names[:rnd % len(names)]:
                server = start(name, out)
                try:
                    cells.wrk(target(), 50, 2)  # warm-up
                    res[name]["throughput"].append(throughput(cells, server, seconds))
                    if rnd == 0:
                        res[name]["rss_idle_mb"] = round(procs.rss_mb(server.pids()), 1)
                        res[name]["stream_50"] = streams(cells, server, 50, seconds, paced=False)
                        res[name]["paced_10"] = streams(cells, server, 10, seconds, paced=True)
                        res[name]["disconnect"] = disconnect(server)
                        res[name]["backpressure"] = backpressure(server)
                    log(f"{name} round {rnd + 1}: {res[name]['throughput'][-1]}")
                except Exception as exc:  # one server failing must not stop the others
                    res[name].setdefault("errors", []).append(f"{type(exc).__name__}: {exc}")
                    log(f"!! {name}: {exc}")
                finally:
                    server.stop()
    finally:
        up.stop()
    return res


def markdown(res: dict[str, Any]) -> str:
    head = ["server", "req/s c50 (runs)", "req per CPU-s", "p99 ms", "streams/s (50)", "CPU ms/stream",
            "TTFT p50 ms (10 paced)", "disconnect: upstream closed / 20, within", "FDs before → after",
            "backpressure: RSS growth MB (complete)", "idle RSS MB"]
    rows = []
    for name, r in res.items():
        tp = r["throughput"]
        s50, p10, dc, bp = (r.get(k) or {} for k in ("stream_50", "paced_10", "disconnect", "backpressure"))
        runs = ", ".join(f"{x['rps']:,.0f}" for x in tp)
        rows.append([
            name, f"{statistics.median(x['rps'] for x in tp):,.0f} ({runs})" if tp else "—",
            f"{statistics.median(x['per_cpu_s'] for x in tp):,.0f}" if tp else "—",
            f"{statistics.median(x['p99_ms'] for x in tp):.2f}" if tp else "—",
            f"{s50.get('streams_per_s', 0):,.0f}", f"{s50.get('cpu_ms_per_stream') or 0:.2f}",
            f"{p10.get('ttft_p50_ms') or 0:.2f}",
            f"{dc.get('upstream_closed', '—')} in {dc.get('closed_within_ms', '—')} ms"
            + ("" if dc.get("serves_after") else " ⚠ no longer serves"),
            f"{dc.get('fds_before', '—')} → {dc.get('fds_after', '—')}",
            f"{bp.get('growth_mb', '—')} ({'yes' if bp.get('complete') else 'NO'})", f"{r.get('rss_idle_mb', '—')}"])
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", *[f"- `{n}`: {r['what']}" + (f" — errors: {r['errors']}" if r.get("errors") else "")
                    for n, r in res.items()]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.servers", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0, help="per throughput and stream cell")
    ap.add_argument("--rounds", type=int, default=3, help="throughput runs per server, alternating")
    ap.add_argument("--only", help="comma-separated: " + ",".join(SERVERS))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    try:
        os.sched_setaffinity(0, {int(LOAD_CORE)})
    except OSError:
        pass
    ensure_venv()
    names = [n.strip() for n in args.only.split(",")] if args.only else list(SERVERS)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or BENCH / "results" / f"{stamp}-servers"
    out.mkdir(parents=True, exist_ok=True)
    res = measure(names, out, args.seconds, args.rounds)
    (out / "servers.json").write_text(json.dumps(res, indent=1))
    print(markdown(res))
    print(f"\n(raw: {out / 'servers.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
