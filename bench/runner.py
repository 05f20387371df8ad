"""The cells: each scenario against each target, CPU and memory read around it."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import procs
from bench.systems import BENCH, LOAD_CORE, UPSTREAM, System, Target

FOREIGN_MAX_PCT = 10.0  # other processes may use this much of a core during a cell
MAX_ATTEMPTS = 3
PACED_DELAY_MS = 5.0   # between content chunks in the "paced" stream scenario
STREAM_CHUNKS = 30


@dataclass
class Plan:
    reps: int = 3
    tput_conc: tuple[int, ...] = (10, 50, 200)
    tput_s: float = 6.0
    lat: tuple[tuple[int, float], ...] = ((20, 20.0), (500, 10.0))  # (rate, seconds)
    stream_conc: tuple[int, ...] = (10, 50)
    stream_s: float = 6.0
    warmup_s: float = 2.0
    soak_minutes: float = 10.0
    soak_rate: int = 200
    soak_sample_s: float = 10.0
    profile_s: float = 20.0
    quiet_limit_s: float = 180.0  # the longest wait for a quiet machine before a cell
    max_attempts: int = MAX_ATTEMPTS  # runs of a cell while other processes take > FOREIGN_MAX_PCT
    # surface rows (Target.main False): the cells the targets need, not the whole grid
    surface_lat: tuple[tuple[int, float], ...] | None = None  # default: the first of `lat`
    surface_tput_conc: tuple[int, ...] = (50,)
    surface_streams: tuple[tuple[bool, int], ...] = ((False, 50), (True, 10))  # (paced, streams)

    def cells_for(self, t: Target) -> tuple[tuple[tuple[int, float], ...], tuple[int, ...],
                                            tuple[tuple[bool, int], ...]]:
        """(latency cells, throughput concurrencies, stream cells) of one target."""
        if t.main:
            lat, conc = self.lat, self.tput_conc
            streams = tuple((paced, c) for paced in (False, True) for c in self.stream_conc)
        else:
            lat, conc, streams = self.surface_lat or self.lat[:1], self.surface_tput_conc, self.surface_streams
        return lat, conc, streams if t.stream_body is not None else ()


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def upstream_config(chunks: int, delay_ms: float) -> None:
    procs.http_json(f"{UPSTREAM}/_bench/config", json.dumps({"chunks": chunks, "delay_ms": delay_ms}).encode())


def upstream_count() -> int:
    s = procs.http_json(f"{UPSTREAM}/_bench/stats")
    assert isinstance(s, dict)
    return int(s["requests"]) + int(s["streams"])


class Cells:
    """Runs cells and keeps their results."""

    def __init__(self, out: Path, upstream: procs.Server, quiet_limit: float = 180.0,
                 max_attempts: int = MAX_ATTEMPTS) -> None:
        self.max_attempts = max_attempts
        self.out = out
        self.upstream = upstream
        self.quiet_limit = quiet_limit  # at most this long waiting for other processes before a cell
        self.results: list[dict[str, Any]] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-"))

    # -- load generators ---------------------------------------------------------------

    def wrk(self, target: Target, conc: int, seconds: float) -> tuple[dict[str, Any], float]:
        body = self.tmp / (re.sub(r"\W", "_", target.name) + ".json")
        body.write_text(json.dumps(target.body))
        cmd = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{conc}", f"-d{seconds:g}s", "--timeout", "10s",
               "-s", str(BENCH / "post.lua"), target.url, "--", str(body),
               *[f"{k}: {v}" for k, v in target.headers.items()]]
        out, err, rc, cpu = procs.run_measured(cmd, timeout=seconds + 60)
        line = next((ln for ln in out.splitlines() if ln.startswith("WRK_JSON ")), None)
        if rc != 0 or line is None:
            raise RuntimeError(f"wrk failed ({rc}): {err.strip()[-500:]} {out[-500:]}")
        data = json.loads(line[len("WRK_JSON "):])
        return data, cpu

    def loadgen(self, spec: dict[str, Any]) -> tuple[dict[str, Any], float]:
        path = self.tmp / "spec.json"
        path.write_text(json.dumps(spec))
        budget = spec.get("warmup", 0) + spec["duration"] + spec.get("timeout_ms", 10000) / 1000 + 60
        out, err, rc, cpu = procs.run_measured(
            ["taskset", "-c", LOAD_CORE, shutil.which("node") or "node", str(BENCH / "loadgen.js"), str(path)],
            timeout=budget)
        if rc != 0 or not out.strip():
            raise RuntimeError(f"loadgen failed ({rc}): {err.strip()[-800:]}")
        return json.loads(out.strip().splitlines()[-1]), cpu

    # -- measurement around a cell -----------------------------------------------------

    def measured(self, gw: list[int], fn: Any) -> dict[str, Any]:
        """Run a cell while nothing else on the machine is busy: wait for quiet first, and
        run it again (up to MAX_ATTEMPTS) if other processes took CPU meanwhile."""
        up = [self.upstream.pid]
        waited = 0.0
        for attempt in range(1, self.max_attempts + 1):
            w, _ = procs.wait_machine_quiet(gw + up, limit=self.quiet_limit)
            waited += w
            data = self._measured_once(gw, up, fn)
            foreign = data["res"]["foreign_core_pct"]
            if foreign <= FOREIGN_MAX_PCT or attempt == self.max_attempts:
                break
            log(f"  (other processes used {foreign:.0f}% of a core during the cell: running it again)")
        data["res"].update(attempts=attempt, waited_for_quiet_s=waited)
        return data

    def _measured_once(self, gw: list[int], up: list[int], fn: Any) -> dict[str, Any]:
        m0, s0 = procs.machine_busy_seconds(), procs.self_cpu_seconds()
        n0, g0, u0, t0 = upstream_count(), procs.cpu_seconds(gw), procs.cpu_seconds(up), time.monotonic()
        data, load_cpu = fn()
        wall = time.monotonic() - t0
        n = upstream_count() - n0
        g, u = procs.cpu_seconds(gw) - g0, procs.cpu_seconds(up) - u0
        foreign = (procs.machine_busy_seconds() - m0) - g - u - load_cpu - (procs.self_cpu_seconds() - s0)
        data["res"] = {
            "foreign_core_pct": max(0.0, 100 * foreign / wall),
            "wall_s": wall, "upstream_requests": n,
            "gw_cpu_s": g, "gw_cpu_per_1k_s": (g / n * 1000) if (n and gw) else None,
            "gw_core_pct": 100 * g / wall if gw else None,
            "upstream_cpu_per_1k_s": u / n * 1000 if n else None, "upstream_core_pct": 100 * u / wall,
            "loadgen_core_pct": 100 * load_cpu / wall,
            "rss_mb_after": procs.rss_mb(gw) if gw else None,
        }
        return data

    def record(self, rep: int, target: Target, scenario: str, param: str, metrics: dict[str, Any],
               raw: dict[str, Any]) -> None:
        row = {"rep": rep, "system": target.system, "target": target.name, "scenario": scenario,
               "param": param, "baseline": target.baseline, "compare": target.compare, **metrics, "raw": raw}
        self.results.append(row)
        brief = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in metrics.items() if k in SHOW)
        log(f"  {target.name:22} {scenario:13} {param:9} {brief}")

    # -- scenarios ---------------------------------------------------------------------

    def throughput(self, rep: int, t: Target, gw: list[int], conc: int, seconds: float) -> None:
        d = self.measured(gw, lambda: self.wrk(t, conc, seconds))
        errors = sum(d["errors"].values())
        res = d["res"]
        self.record(rep, t, "throughput", f"c{conc}", {
            "rps": d["requests"] / (d["duration_us"] / 1e6), "errors": errors,
            "p50_ms": d["latency_us"]["p50"] / 1000, "p99_ms": d["latency_us"]["p99"] / 1000,
            "gw_cpu_per_1k_s": res["gw_cpu_per_1k_s"], "gw_core_pct": res["gw_core_pct"],
            "upstream_core_pct": res["upstream_core_pct"], "loadgen_core_pct": res["loadgen_core_pct"],
            "upstream_cpu_per_1k_s": res["upstream_cpu_per_1k_s"], "foreign_core_pct": res["foreign_core_pct"],
        }, d)

    def open_loop(self, rep: int, t: Target, gw: list[int], rate: int, seconds: float) -> None:
        spec = {"mode": "open", "rate": rate, "duration": seconds, "warmup": 1.0, "timeout_ms": 10000,
                "max_inflight": 512, "requests": [self._req(t, stream=False)]}
        d = self.measured(gw, lambda: self.loadgen(spec))
        lat = d["latency_ms"]
        errors = sum(d["errors"].values())
        self.record(rep, t, "latency", f"{rate}rps", {
            "p50_ms": lat.get("p50"), "p90_ms": lat.get("p90"), "p99_ms": lat.get("p99"),
            "achieved_rps": d["achieved_rps"], "errors": errors,
            "saturated": bool(d["dropped"] or d["achieved_rps"] < 0.95 * rate),
            "gw_cpu_per_1k_s": d["res"]["gw_cpu_per_1k_s"], "gw_core_pct": d["res"]["gw_core_pct"],
            "upstream_core_pct": d["res"]["upstream_core_pct"], "loadgen_core_pct": d["res"]["loadgen_core_pct"],
            "send_lag_p99_ms": d["send_lag_ms"].get("p99"), "foreign_core_pct": d["res"]["foreign_core_pct"],
        }, d)

    def streams(self, rep: int, t: Target, gw: list[int], conc: int, seconds: float, paced: bool) -> None:
        upstream_config(STREAM_CHUNKS, PACED_DELAY_MS if paced else 0.0)
        try:
            spec = {"mode": "stream", "concurrency": conc, "duration": seconds, "warmup": 1.0,
                    "timeout_ms": 30000, "requests": [self._req(t, stream=True)]}
            d = self.measured(gw, lambda: self.loadgen(spec))
        finally:
            upstream_config(STREAM_CHUNKS, 0.0)
        self.record(rep, t, "stream-paced" if paced else "stream", f"{conc}x", {
            "streams_per_s": d["streams_per_s"], "errors": sum(d["errors"].values()),
            "ttft_p50_ms": d["ttft_ms"].get("p50"), "ttft_p99_ms": d["ttft_ms"].get("p99"),
            "total_p50_ms": d["total_ms"].get("p50"), "total_p99_ms": d["total_ms"].get("p99"),
            "gw_cpu_per_1k_s": d["res"]["gw_cpu_per_1k_s"], "gw_core_pct": d["res"]["gw_core_pct"],
            "upstream_core_pct": d["res"]["upstream_core_pct"], "loadgen_core_pct": d["res"]["loadgen_core_pct"],
            "foreign_core_pct": d["res"]["foreign_core_pct"],
        }, d)

    @staticmethod
    def _req(t: Target, stream: bool) -> dict[str, Any]:
        return {"url": t.url, "headers": t.headers, "body": t.stream_body if stream else t.body,
                "kind": t.stream_kind if stream else "json"}


SHOW = {"rps", "errors", "p50_ms", "p99_ms", "gw_cpu_per_1k_s", "achieved_rps", "streams_per_s",
        "ttft_p50_ms", "total_p50_ms", "upstream_core_pct", "saturated", "foreign_core_pct"}


def run_system(cells: Cells, plan: Plan, system: System, rep: int, out: Path) -> dict[str, Any]:
    """Start ``system`` (unless it is the direct baseline), run every cell, stop it."""
    info: dict[str, Any] = {"rep": rep, "system": system.name}
    server = system.make_server(out) if system.make_server else None  # type: ignore[operator]
    gw: list[int] = []
    try:
        if server is not None:
            log(f"starting {system.name}")
            server.start()
            info["startup_s"] = server.startup_s
            time.sleep(2.0)
            gw = server.pids()
            info["rss_fresh_mb"] = procs.rss_mb(gw)
            info["fds_fresh"] = procs.fd_count(gw)
        for t in system.targets:  # warm every path (imports, pools, JIT) before measuring
            cells.wrk(t, 50, plan.warmup_s)
        if server is not None:
            procs.wait_quiet(gw)
            time.sleep(1.0)
            info["rss_idle_mb"] = procs.rss_mb(gw)
        for t in system.targets:
            lat, tput, streams = plan.cells_for(t)
            for rate, seconds in lat:
                cells.open_loop(rep, t, gw, rate, seconds)
                procs.wait_quiet(gw)
            for conc in tput:
                cells.throughput(rep, t, gw, conc, plan.tput_s)
                procs.wait_quiet(gw)
            for paced, conc in streams:
                cells.streams(rep, t, gw, conc, plan.stream_s, paced)
                procs.wait_quiet(gw)
        if server is not None:
            time.sleep(1.0)
            info["rss_end_mb"] = procs.rss_mb(gw)
            info["peak_rss_mb"] = procs.peak_rss_mb(gw)
            info["fds_end"] = procs.fd_count(gw)
    except Exception as exc:  # one system failing must not stop the others
        info["error"] = f"{type(exc).__name__}: {exc}"
        log(f"!! {system.name} rep {rep}: {info['error']}")
    finally:
        if server is not None:
            server.stop()
    return info


def _idle_fds(gw: list[int], before: int, limit_s: float = 60.0) -> tuple[int, float]:
    """Open FDs once the load has stopped and idle connections have closed (uvicorn's
    keep-alive is 5 s, aiohttp's pool 15 s): polled until back to ``before`` or ``limit_s``."""
    t0 = time.monotonic()
    while True:
        n = procs.fd_count(gw)
        waited = time.monotonic() - t0
        if n <= before or waited >= limit_s:
            return n, round(waited, 1)
        time.sleep(1.0)


def soak(plan: Plan, system: System, out: Path, upstream: procs.Server) -> dict[str, Any]:
    """llm-router at a steady open-loop rate, mixed requests, RSS and FDs sampled."""
    server = system.make_server(out)  # type: ignore[operator]
    cells = Cells(out, upstream)
    upstream_config(STREAM_CHUNKS, 0.0)
    server.start()
    try:
        gw = server.pids()
        procs.wait_machine_quiet(gw + [upstream.pid], limit=plan.quiet_limit_s)
        by_name = {t.name: t for t in system.targets}
        mix = [cells._req(by_name["llm-router/openai"], False), cells._req(by_name["llm-router/anthropic"], False),
               cells._req(by_name["llm-router/chat"], False), cells._req(by_name["llm-router/openai"], True),
               cells._req(by_name["llm-router/openai"], False), cells._req(by_name["llm-router/anthropic"], True)]
        for name, stream in (("messages-openai", True), ("responses-anthropic", True), ("embeddings", False),
                             ("messages-anthropic", False), ("responses-openai", True)):
            if f"llm-router/{name}" in by_name:  # the surfaces, when the run has them
                mix.append(cells._req(by_name[f"llm-router/{name}"], stream))
        seconds = plan.soak_minutes * 60
        warm = min(30.0, seconds / 5)
        spec = {"mode": "open", "rate": plan.soak_rate, "duration": seconds, "warmup": warm, "timeout_ms": 10000,
                "max_inflight": 512, "interval_s": plan.soak_sample_s, "requests": mix}
        samples: list[dict[str, Any]] = []
        stop = threading.Event()
        t0 = time.monotonic()

        def sampler() -> None:
            c_prev, m_prev = procs.cpu_seconds(gw), procs.machine_busy_seconds()
            while not stop.is_set():
                c, m = procs.cpu_seconds(gw), procs.machine_busy_seconds()
                samples.append({"t_s": round(time.monotonic() - t0 - warm, 1), "rss_mb": procs.rss_mb(gw),
                                "fds": procs.fd_count(gw), "core_pct": 100 * (c - c_prev) / plan.soak_sample_s,
                                "machine_busy_pct": 100 * (m - m_prev) / plan.soak_sample_s})
                c_prev, m_prev = c, m
                stop.wait(plan.soak_sample_s)

        log(f"soak: llm-router at {plan.soak_rate} req/s for {plan.soak_minutes:g} min "
            f"(+{warm:g}s warm-up), mixed JSON and streams, OpenAI and Anthropic")
        fds_before = procs.fd_count(gw)
        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        data, _ = cells.loadgen(spec)
        stop.set()
        thread.join()
        fds_after, idle_s = _idle_fds(gw, fds_before)
        steady = [s for s in samples if s["t_s"] >= 0] or samples
        k = max(1, min(6, len(steady) // 3))  # first and last minute of a 10-minute soak
        head, tail_ = steady[:k], steady[-k:]
        avg = lambda xs, k: sum(x[k] for x in xs) / len(xs)  # noqa: E731
        result = {
            "window_samples": k, "rate": plan.soak_rate, "minutes": plan.soak_minutes, "warmup_s": warm,
            "sent": data["sent"], "ok": data["ok"], "errors": data["errors"], "achieved_rps": data["achieved_rps"],
            "latency_ms": data["latency_ms"], "series": data.get("series"), "samples": samples,
            "rss_start_mb": avg(head, "rss_mb"), "rss_end_mb": avg(tail_, "rss_mb"),
            "rss_max_mb": max(s["rss_mb"] for s in steady or samples),
            "fds_start": avg(head, "fds"), "fds_end": avg(tail_, "fds"),
            "fds_max": max(s["fds"] for s in steady or samples),
            "fds_idle_before": fds_before, "fds_idle_after": fds_after, "fds_idle_wait_s": idle_s,
        }
        result["rss_growth_pct"] = 100 * (result["rss_end_mb"] / result["rss_start_mb"] - 1)
        result["fds_growth_pct"] = 100 * (result["fds_end"] / result["fds_start"] - 1) if result["fds_start"] else 0.0
        log(f"soak: {data['ok']} ok, errors {data['errors']}, RSS {result['rss_start_mb']:.1f} -> "
            f"{result['rss_end_mb']:.1f} MB ({result['rss_growth_pct']:+.1f}%), FDs {result['fds_start']:.0f} -> "
            f"{result['fds_end']:.0f}")
        return result
    finally:
        server.stop()


def profile(plan: Plan, system: System, out: Path, upstream: procs.Server) -> dict[str, Any]:
    """py-spy on llm-router under the non-streaming load (wrk c50): an SVG flame graph and
    raw collapsed stacks, one after the other, each ``profile_s`` long."""
    pyspy = BENCH / ".venvs/tools/bin/py-spy"
    if not pyspy.exists():
        return {"error": "py-spy is not installed (bench/setup.sh installs it into bench/.venvs/tools)"}
    server = system.make_server(out)  # type: ignore[operator]
    cells = Cells(out, upstream)
    target = system.targets[0]
    server.start()
    try:
        cells.wrk(target, 50, plan.warmup_s)
        procs.wait_machine_quiet([server.pid, upstream.pid], limit=plan.quiet_limit_s)
        load = threading.Thread(target=cells.wrk, args=(target, 50, 2 * plan.profile_s + 6), daemon=True)
        load.start()
        time.sleep(1.0)
        results = {}
        for fmt, path in (("flamegraph", out / "profile.svg"), ("raw", out / "profile.txt")):
            cmd = ["taskset", "-c", LOAD_CORE, str(pyspy), "record", "--pid", str(server.pid), "--duration",
                   str(int(plan.profile_s)), "--rate", "250", "--format", fmt, "--output", str(path), "--nonblocking"]
            o, e, rc, _ = procs.run_measured(cmd, timeout=plan.profile_s + 60)
            results[fmt] = {"rc": rc, "path": str(path), "stderr": e[-400:]}
        load.join()
        results["summary"] = summarise_raw(out / "profile.txt")
        # the same under 10 back-to-back 30-chunk streams (OpenAI in, OpenAI upstream)
        upstream_config(STREAM_CHUNKS, 0.0)
        spec = {"mode": "stream", "concurrency": 10, "duration": plan.profile_s + 4, "warmup": 0,
                "timeout_ms": 30000, "requests": [cells._req(target, stream=True)]}
        load = threading.Thread(target=cells.loadgen, args=(spec,), daemon=True)
        load.start()
        time.sleep(1.0)
        cmd = ["taskset", "-c", LOAD_CORE, str(pyspy), "record", "--pid", str(server.pid), "--duration",
               str(int(plan.profile_s)), "--rate", "250", "--format", "raw", "--output",
               str(out / "profile-stream.txt"), "--nonblocking"]
        o, e, rc, _ = procs.run_measured(cmd, timeout=plan.profile_s + 60)
        results["stream"] = {"rc": rc, "path": str(out / "profile-stream.txt"), "stderr": e[-400:]}
        load.join()
        results["stream_summary"] = summarise_raw(out / "profile-stream.txt")
        log("profile: top self time: " + "; ".join(f"{r['frame']} {r['self_pct']:.1f}%"
                                                   for r in results["summary"]["self"][:5]))
        return results
    finally:
        server.stop()


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::(?P<line>\d+))?\)$")


def _short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"]
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m['func']} ({path})"


def _package(frame: str) -> str:
    short = _short(frame)
    m = re.search(r"\(([^/)]+)", short)
    head = m.group(1) if m else "?"
    return head.removesuffix(".py")


def summarise_raw(path: Path, top: int = 25) -> dict[str, Any]:
    """Self and inclusive time per function (line numbers dropped) from py-spy's raw
    collapsed stacks; inclusive time per package."""
    self_t: dict[str, int] = {}
    incl: dict[str, int] = {}
    pkg_self: dict[str, int] = {}
    total = 0
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        return {"error": str(exc), "self": [], "inclusive": [], "packages": []}
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";") if "(" in f]
        frames = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        total += n
        leaf = frames[-1]
        self_t[leaf] = self_t.get(leaf, 0) + n
        pkg = _package(stack.split(";")[-1])
        pkg_self[pkg] = pkg_self.get(pkg, 0) + n
        for f in set(frames):
            incl[f] = incl.get(f, 0) + n

    def table(d: dict[str, int]) -> list[dict[str, Any]]:
        rows = sorted(d.items(), key=lambda kv: -kv[1])[:top]
        return [{"frame": k, "samples": v, "self_pct" if d is self_t else "pct": 100 * v / total} for k, v in rows]

    return {"samples": total, "self": table(self_t), "inclusive": table(incl),
            "packages": [{"package": k, "self_pct": 100 * v / total}
                         for k, v in sorted(pkg_self.items(), key=lambda kv: -kv[1])[:15]] if total else []}
