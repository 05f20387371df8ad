"""Medians with ranges across repetitions, ratios, targets, and the markdown reports."""

from __future__ import annotations

import statistics
from typing import Any

ROUTER = "llm-router/openai"
RIVALS = {"portkey": "portkey/openai", "litellm": "litellm/openai", "floor": "floor-aiohttp/openai"}
Stat = tuple[float, float, float] | None  # median, min, max


def stat(values: list[Any]) -> Stat:
    xs = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if not xs:
        return None
    return statistics.median(xs), min(xs), max(xs)


def fmt(s: Stat, digits: int = 3, unit: str = "") -> str:
    if s is None:
        return "—"
    med, lo, hi = s
    f = _num(digits)
    if len({f(med), f(lo), f(hi)}) == 1:
        return f"{f(med)}{unit}"
    return f"{f(med)}{unit} ({f(lo)}–{f(hi)})"


def _num(digits: int) -> Any:
    def f(v: float) -> str:
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) >= 100:
            return f"{v:.0f}"
        return f"{v:.{digits}g}" if abs(v) >= 1 else f"{v:.{max(digits - 1, 1)}f}"
    return f


class Results:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.rows: list[dict[str, Any]] = data["cells"]
        self.systems: list[dict[str, Any]] = data["systems"]

    def targets(self) -> list[str]:
        seen: list[str] = []
        for r in self.rows:
            if r["target"] not in seen:
                seen.append(r["target"])
        return seen

    def cell(self, target: str, scenario: str, param: str, metric: str) -> Stat:
        return stat([r.get(metric) for r in self.rows
                     if r["target"] == target and r["scenario"] == scenario and r["param"] == param])

    def any_flag(self, target: str, scenario: str, param: str, flag: str) -> bool:
        return any(r.get(flag) for r in self.rows
                   if r["target"] == target and r["scenario"] == scenario and r["param"] == param)

    def baseline_of(self, target: str) -> str:
        """The direct target recorded with the rows (older runs: by name)."""
        for r in self.rows:
            if r["target"] == target and r.get("baseline"):
                return str(r["baseline"])
        return "direct/anthropic" if target == "llm-router/anthropic" else "direct/openai"

    def compare_of(self, target: str) -> str:
        return next((str(r["compare"]) for r in self.rows if r["target"] == target and r.get("compare")), "")

    def added(self, target: str, scenario: str, param: str, metric: str) -> Stat:
        """Per repetition: target minus its direct baseline in the same repetition."""
        base = {r["rep"]: r.get(metric) for r in self.rows if r["target"] == self.baseline_of(target)
                and r["scenario"] == scenario and r["param"] == param}
        diffs = [r[metric] - base[r["rep"]] for r in self.rows
                 if r["target"] == target and r["scenario"] == scenario and r["param"] == param
                 and r.get(metric) is not None and base.get(r["rep"]) is not None]
        return stat(diffs)

    def diff(self, a: str, b: str, scenario: str, param: str, metric: str) -> Stat:
        """Per repetition a - b (same repetition), then median and range."""
        bv = {r["rep"]: r.get(metric) for r in self.rows
              if r["target"] == b and r["scenario"] == scenario and r["param"] == param}
        ds = [r[metric] - bv[r["rep"]] for r in self.rows
              if r["target"] == a and r["scenario"] == scenario and r["param"] == param
              and r.get(metric) is not None and bv.get(r["rep"]) is not None]
        return stat(ds)

    def ratio(self, a: str, b: str, scenario: str, param: str, metric: str) -> Stat:
        """Per repetition a/b (same repetition), then median and range."""
        bv = {r["rep"]: r.get(metric) for r in self.rows
              if r["target"] == b and r["scenario"] == scenario and r["param"] == param}
        rs = [r[metric] / bv[r["rep"]] for r in self.rows
              if r["target"] == a and r["scenario"] == scenario and r["param"] == param
              and r.get(metric) and bv.get(r["rep"])]
        return stat(rs)

    def sysinfo(self, system: str, key: str) -> Stat:
        return stat([s.get(key) for s in self.systems if s["system"] == system])

    def system_errors(self) -> list[str]:
        return [f"{s['system']} (rep {s['rep']}): {s['error']}" for s in self.systems if s.get("error")]


def _table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _has(res: Results, t: str, scenario: str, param: str) -> bool:
    return any(r["target"] == t and r["scenario"] == scenario and r["param"] == param for r in res.rows)


def tables(res: Results, plan: dict[str, Any]) -> str:
    """Every measured cell: median (min–max) over the repetitions (— where a row has no such cell)."""
    targets = res.targets()
    conc = [f"c{c}" for c in plan["tput_conc"]]
    parts = []
    rows = []
    for t in targets:
        rows.append([t] + [fmt(res.cell(t, "throughput", c, "rps"), 4) for c in conc]
                    + [fmt(res.cell(t, "throughput", "c50", "p99_ms")),
                       fmt(res.cell(t, "throughput", "c50", "gw_cpu_per_1k_s")),
                       fmt(res.cell(t, "throughput", "c50", "upstream_core_pct"), 2, "%"),
                       fmt(stat([r.get("errors") for r in res.rows if r["target"] == t and r["scenario"] == "throughput"]))])
    parts.append("### Throughput at saturation (wrk, non-streaming), requests/s\n\n" + _table(
        ["target"] + [f"{c} req/s" for c in conc] + ["p99 ms @c50", "gateway CPU s/1k req @c50",
                                                     "upstream core @c50", "errors/cell"], rows))
    for rate, _ in plan["lat"]:
        p = f"{rate}rps"
        rows = []
        for t in [t for t in targets if _has(res, t, "latency", p)]:
            sat = " ⚠ saturated" if res.any_flag(t, "latency", p, "saturated") else ""
            rows.append([t] + [fmt(res.cell(t, "latency", p, m)) for m in ("p50_ms", "p90_ms", "p99_ms")]
                        + [fmt(res.added(t, "latency", p, m)) for m in ("p50_ms", "p90_ms", "p99_ms")]
                        + [fmt(res.cell(t, "latency", p, "achieved_rps"), 4) + sat,
                           fmt(res.cell(t, "latency", p, "gw_cpu_per_1k_s"))])
        parts.append(f"### Latency at a fixed open-loop rate of {rate} req/s (ms; added = minus direct, same repetition)\n\n"
                     + _table(["target", "p50", "p90", "p99", "added p50", "added p90", "added p99",
                               "achieved req/s", "gateway CPU s/1k req"], rows))
    for scen, title in (("stream", "Streaming, 30 chunks sent back to back (capacity)"),
                        ("stream-paced", "Streaming, 30 chunks 5 ms apart (a paced, unsaturated stream)")):
        rows = []
        for t in targets:
            for c in plan["stream_conc"]:
                p = f"{c}x"
                if not _has(res, t, scen, p):
                    continue
                rows.append([t, str(c), fmt(res.cell(t, scen, p, "streams_per_s"), 4),
                             fmt(res.cell(t, scen, p, "ttft_p50_ms")), fmt(res.cell(t, scen, p, "ttft_p99_ms")),
                             fmt(res.added(t, scen, p, "ttft_p50_ms")),
                             fmt(res.cell(t, scen, p, "total_p50_ms")), fmt(res.added(t, scen, p, "total_p50_ms")),
                             fmt(res.cell(t, scen, p, "gw_cpu_per_1k_s")),
                             fmt(stat([r.get("errors") for r in res.rows if r["target"] == t and r["scenario"] == scen
                                       and r["param"] == p]))])
        parts.append(f"### {title}\n\n" + _table(
            ["target", "streams", "streams/s", "TTFT p50 ms", "TTFT p99 ms", "added TTFT p50", "full stream p50 ms",
             "added full stream p50", "gateway CPU s/1k streams", "errors"], rows))
    rows = []
    for s in dict.fromkeys(x["system"] for x in res.systems):
        if s == "direct":
            continue
        rows.append([s, fmt(res.sysinfo(s, "startup_s"), 2, " s"), fmt(res.sysinfo(s, "rss_fresh_mb"), 3),
                     fmt(res.sysinfo(s, "rss_idle_mb"), 3), fmt(res.sysinfo(s, "peak_rss_mb"), 3),
                     fmt(res.sysinfo(s, "fds_fresh"), 3), fmt(res.sysinfo(s, "fds_end"), 3)])
    parts.append("### Memory and start-up (per system process tree, MB)\n\n" + _table(
        ["system", "start-up", "RSS fresh", "RSS idle after warm-up", "peak RSS (VmHWM)", "FDs fresh", "FDs at end"],
        rows))
    return "\n\n".join(parts)


def ratios(res: Results, plan: dict[str, Any]) -> str:
    rows = []
    for label, other in RIVALS.items():
        r = [f"llm-router vs {label}"]
        for c in plan["tput_conc"]:
            r.append(fmt(res.ratio(ROUTER, other, "throughput", f"c{c}", "rps"), 3, "×"))
        r.append(fmt(res.ratio(ROUTER, other, "throughput", "c50", "gw_cpu_per_1k_s"), 3, "×"))
        r.append(fmt(res.ratio(ROUTER, other, "stream", "50x", "streams_per_s"), 3, "×"))
        rows.append(r)
    return _table(["", *[f"throughput c{c}" for c in plan["tput_conc"]], "CPU per request (c50)",
                   "streams/s (50 streams)"], rows)


def targets(res: Results, soak: dict[str, Any] | None) -> tuple[str, list[dict[str, Any]]]:
    """Each target from the issue: value, met or missed, gap."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: Stat, goal: float, higher: bool, unit: str, how: str) -> None:
        if value is None:
            out.append({"target": name, "value": "not measured", "status": "—", "gap": "", "how": how})
            return
        v = value[0]
        met = v >= goal if higher else v <= goal
        if higher:
            gap = "" if met else f"{v / goal:.2f} of the goal ({goal - v:,.3g}{unit} short)"
        else:
            gap = "" if met else f"{v - goal:+,.3g}{unit} over ({v / goal:.2f}× the limit)"
        out.append({"target": name, "value": fmt(value, 3, unit), "status": "met" if met else "MISSED",
                    "gap": gap, "how": how, "median": v})

    for c in (10, 50, 200):
        add(f"throughput ≥ 4× Portkey (c{c})", res.ratio(ROUTER, RIVALS["portkey"], "throughput", f"c{c}", "rps"),
            4, True, "×", "llm-router /v1 openai ÷ Portkey, same repetition")
    for c in (10, 50, 200):
        add(f"throughput ≥ 30× LiteLLM (c{c})", res.ratio(ROUTER, RIVALS["litellm"], "throughput", f"c{c}", "rps"),
            30, True, "×", "llm-router /v1 openai ÷ LiteLLM, same repetition")
    add("throughput ≥ 0.5 of the Python floor (c50)", res.ratio(ROUTER, RIVALS["floor"], "throughput", "c50", "rps"),
        0.5, True, "×", "req/s, llm-router ÷ floor-aiohttp, same repetition")
    add("CPU per request ≤ 2× the Python floor (c50)", res.ratio(ROUTER, RIVALS["floor"], "throughput", "c50",
                                                                 "gw_cpu_per_1k_s"), 2.0, False, "×",
        "CPU s per 1k requests at c50, llm-router ÷ floor-aiohttp")
    add("streams/s ≥ 0.5 of the floor (50 streams)", res.ratio(ROUTER, RIVALS["floor"], "stream", "50x",
                                                               "streams_per_s"), 0.5, True, "×",
        "30-chunk streams back to back, llm-router ÷ floor-aiohttp")
    add("added TTFT p50 − the floor's ≤ 0.3 ms (10 paced streams)",
        res.diff(ROUTER, RIVALS["floor"], "stream-paced", "10x", "ttft_p50_ms"), 0.3, False, " ms",
        "TTFT p50 llm-router minus floor-aiohttp, same repetition")
    for t in res.targets():
        goal, what = (0.8, "the same run without them") if t.startswith("llm-router-policies/") else \
            (0.85, "the /v1 OpenAI row")
        if res.compare_of(t):
            add(f"{t} req/s ≥ {goal:g} × {what} (c50)",
                res.ratio(t, res.compare_of(t), "throughput", "c50", "rps"), goal, True, "×",
                f"÷ {res.compare_of(t)}, same repetition")
            add(f"{t} CPU/request ≤ {1 / goal:.3g} × {what} (c50)",
                res.ratio(t, res.compare_of(t), "throughput", "c50", "gw_cpu_per_1k_s"), 1 / goal, False, "×",
                f"÷ {res.compare_of(t)}, same repetition (robust to other load on the machine)")
    add("idle RSS ≤ 80 MB", res.sysinfo("llm-router", "rss_idle_mb"), 80, False, " MB", "after warm-up, idle")
    if soak and "rss_growth_pct" in soak:
        v = soak["rss_growth_pct"]
        add("soak RSS growth ≤ 5%", (v, v, v), 5, False, "%", f"{soak['minutes']:g} min at {soak['rate']} req/s")
        if "fds_idle_after" in soak:  # a leak outlives the load; pooled connections do not
            d = soak["fds_idle_after"] - soak["fds_idle_before"]
            how = (f"open FDs idle before the soak and {soak['fds_idle_wait_s']:g} s after it (idle connections "
                   f"closed): {soak['fds_idle_before']} → {soak['fds_idle_after']}; under load "
                   f"{soak['fds_start']:.1f} → {soak['fds_end']:.1f}, max {soak['fds_max']} (the pools)")
            add("soak FDs left after the load ≤ 2", (d, d, d), 2, False, "", how)
        else:  # a run from before the idle count
            v = soak["fds_growth_pct"]
            add("soak FD growth ≤ 5%", (v, v, v), 5, False, "%",
                f"open FDs {soak['fds_start']:.1f} → {soak['fds_end']:.1f} (first and last samples)")
    else:
        out.append({"target": "soak growth ≤ 5%", "value": "not run", "status": "—", "gap": "", "how": ""})
    md = _table(["target", "llm-router", "status", "gap", "how measured"],
                [[o["target"], o["value"], o["status"], o["gap"], o["how"]] for o in out])
    return md, out


def soak_table(soak: dict[str, Any]) -> str:
    samples = soak.get("samples", [])
    step = max(1, len(samples) // 12)
    def row(s: dict[str, Any]) -> list[str]:
        return [f"{s['t_s']:g}", f"{s['rss_mb']:.1f}", str(s["fds"]), f"{s['core_pct']:.0f}%",
                f"{s.get('machine_busy_pct', 0):.0f}%"]
    rows = [row(s) for s in samples[::step]]
    if samples and samples[-1] not in samples[::step]:
        rows.append(row(samples[-1]))
    lat = soak.get("latency_ms", {})
    head = (f"{soak['minutes']:g} min at {soak['rate']} req/s open-loop after {soak['warmup_s']:g} s of warm-up "
            f"(mix: OpenAI and Anthropic, JSON and 30-chunk streams, /v1 and /chat/): {soak['ok']:,} ok, errors "
            f"{soak['errors'] or 'none'}, achieved {soak['achieved_rps']:.1f} req/s, latency p50 "
            f"{lat.get('p50', 0):.2f} ms, p99 {lat.get('p99', 0):.2f} ms, max {lat.get('max', 0):.1f} ms. "
            f"RSS {soak['rss_start_mb']:.1f} → {soak['rss_end_mb']:.1f} MB ({soak['rss_growth_pct']:+.1f}%, max "
            f"{soak['rss_max_mb']:.1f}); FDs {soak['fds_start']:.0f} → {soak['fds_end']:.0f} "
            f"({soak['fds_growth_pct']:+.1f}%, max {soak['fds_max']}) under load"
            + (f"; idle before the soak {soak['fds_idle_before']}, {soak['fds_idle_wait_s']:g} s after it "
               f"{soak['fds_idle_after']}." if "fds_idle_after" in soak else "."))
    return head + "\n\n" + _table(["t (s)", "RSS MB", "open FDs", "llm-router core", "machine busy (2 cores = 200%)"], rows)


def profile_md(profile: dict[str, Any] | None, n: int = 15, key: str = "summary") -> str:
    if not profile or key not in profile:
        return "Profile not taken: " + str((profile or {}).get("error", "skipped"))
    s = profile[key]
    if not s.get("samples"):
        return "Profile has no samples: " + str(s.get("error", ""))
    self_rows = [[f"{r['self_pct']:.1f}%", f"`{r['frame']}`"] for r in s["self"][:n]]
    incl_rows = [[f"{r['pct']:.1f}%", f"`{r['frame']}`"] for r in s["inclusive"] if "llm_router" in r["frame"]
                 or "starlette" in r["frame"] or "fastapi" in r["frame"] or "aiohttp" in r["frame"]][:n]
    pkg_rows = [[f"{r['self_pct']:.1f}%", r["package"]] for r in s["packages"]]
    return (f"{s['samples']:,} samples.\n\n**Self time by function** (where the CPU is spent):\n\n"
            + _table(["self", "function (file)"], self_rows)
            + "\n\n**Inclusive time, application and framework frames**:\n\n"
            + _table(["inclusive", "function (file)"], incl_rows)
            + "\n\n**Self time by package**:\n\n" + _table(["self", "package"], pkg_rows))


def httpx_vs_aiohttp(res: Results, plan: dict[str, Any]) -> str:
    a, h = "floor-aiohttp/openai", "floor-httpx/openai"
    rows = []
    for c in plan["tput_conc"]:
        p = f"c{c}"
        rows.append([f"throughput c{c}, req/s", fmt(res.cell(a, "throughput", p, "rps"), 4),
                     fmt(res.cell(h, "throughput", p, "rps"), 4), fmt(res.ratio(a, h, "throughput", p, "rps"), 3, "×")])
    rows.append(["CPU s per 1k requests (c50)", fmt(res.cell(a, "throughput", "c50", "gw_cpu_per_1k_s")),
                 fmt(res.cell(h, "throughput", "c50", "gw_cpu_per_1k_s")),
                 fmt(res.ratio(a, h, "throughput", "c50", "gw_cpu_per_1k_s"), 3, "×")])
    for p in ("20rps", "500rps"):
        rows.append([f"added p50 / p99 at {p[:-3]} req/s, ms",
                     fmt(res.added(a, "latency", p, "p50_ms")) + " / " + fmt(res.added(a, "latency", p, "p99_ms")),
                     fmt(res.added(h, "latency", p, "p50_ms")) + " / " + fmt(res.added(h, "latency", p, "p99_ms")), ""])
    for c in plan["stream_conc"]:
        p = f"{c}x"
        rows.append([f"streams/s, {c} streams", fmt(res.cell(a, "stream", p, "streams_per_s"), 4),
                     fmt(res.cell(h, "stream", p, "streams_per_s"), 4),
                     fmt(res.ratio(a, h, "stream", p, "streams_per_s"), 3, "×")])
    rows.append(["added TTFT p50, 10 paced streams, ms", fmt(res.added(a, "stream-paced", "10x", "ttft_p50_ms")),
                 fmt(res.added(h, "stream-paced", "10x", "ttft_p50_ms")), ""])
    rows.append(["idle RSS MB", fmt(res.sysinfo("floor-aiohttp", "rss_idle_mb")),
                 fmt(res.sysinfo("floor-httpx", "rss_idle_mb")), ""])
    return _table(["", "aiohttp floor", "httpx floor", "aiohttp ÷ httpx"], rows)


def surfaces(res: Results) -> str:
    """Each surface row against the row it is compared with (the /v1 OpenAI row; the policies
    row: the same llm-router without them), per repetition, then median and range."""
    rows = []
    for t in res.targets():
        other = res.compare_of(t)
        if not other:
            continue
        rows.append([t, fmt(res.cell(t, "throughput", "c50", "rps"), 4),
                     fmt(res.ratio(t, other, "throughput", "c50", "rps"), 3, "×"),
                     fmt(res.ratio(t, other, "throughput", "c50", "gw_cpu_per_1k_s"), 3, "×"),
                     fmt(res.ratio(t, other, "stream", "50x", "streams_per_s"), 3, "×"),
                     fmt(res.added(t, "stream-paced", "10x", "ttft_p50_ms")),
                     fmt(res.added(t, "latency", "20rps", "p50_ms")), f"`{other}`"])
    if not rows:
        return "No surface rows in this run."
    return _table(["target", "req/s @c50", "req/s ÷ compared", "CPU/request ÷ compared",
                   "streams/s ÷ compared (50)", "added TTFT p50 ms (10 paced)", "added p50 ms @20 req/s",
                   "compared with"], rows)


def own_cost(res: Results) -> str:
    """What llm-router adds on top of the minimal proxy hop (the aiohttp floor)."""
    floor = RIVALS["floor"]
    rows = []
    for t in res.targets():
        if not t.startswith("llm-router"):
            continue
        rows.append([t] + [fmt(res.diff(t, floor, "latency", p, m)) for p in ("20rps", "500rps")
                           for m in ("p50_ms", "p99_ms")]
                    + [fmt(res.diff(t, floor, "stream-paced", "10x", "ttft_p50_ms")),
                       fmt(res.diff(t, floor, "throughput", "c50", "gw_cpu_per_1k_s")),
                       fmt(res.diff(t, floor, "stream", "10x", "gw_cpu_per_1k_s"))])
    return _table(["target", "p50 @20 req/s", "p99 @20 req/s", "p50 @500 req/s", "p99 @500 req/s",
                   "TTFT p50, 10 paced streams", "CPU ms per request (c50)", "CPU ms per 30-chunk stream"], rows)


def noise(res: Results) -> str:
    """How much other processes on this (shared) machine got in the way."""
    rows = res.rows
    if not rows:
        return "no cells"
    retried = [r for r in rows if r["raw"].get("res", {}).get("attempts", 1) > 1]
    waited = sum(r["raw"].get("res", {}).get("waited_for_quiet_s", 0) for r in rows)
    foreign = [r.get("foreign_core_pct") or 0 for r in rows]
    bad = [r for r in rows if (r.get("foreign_core_pct") or 0) > 10]
    text = (f"{len(rows)} cells; before each, the run waited until other processes used < 5% of a core "
            f"({waited:.0f} s of waiting in all); {len(retried)} cells were run again because other processes "
            f"took > 10% of a core meanwhile. Other processes' share during the kept cells: median "
            f"{statistics.median(foreign):.1f}%, max {max(foreign):.1f}% of a core.")
    if bad:
        text += (" Still above 10% after 3 attempts (read with care): "
                 + ", ".join(f"{r['target']} {r['scenario']} {r['param']} rep {r['rep']} "
                             f"({r['foreign_core_pct']:.0f}%)" for r in bad) + ".")
    return text
