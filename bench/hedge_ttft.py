"""Hedged requests against a slow tail: p50/p99 time to first token with hedging on vs off.

    python -m bench.hedge_ttft [--requests 400] [--concurrency 8] [--slow 0.05] [--delay 2] [--after-ms 100]

Two fake OpenAI upstreams (aiohttp, in this process), each answering a stream at once except
a ``--slow`` fraction whose headers come ``--delay`` seconds late (independently per
upstream). llm-router runs as ``python -m llm_router serve`` with two routes over the same
two deployments: ``plain`` (fallback, no hedge) and ``hedged`` (``hedge: {after_ms}``). The
client measures time to the first content delta of each stream. Prints one markdown table
and writes it to ``bench/results/<UTC>-hedge/hedge.md`` (ignored by git)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from aiohttp import web

CONFIG = """\
deployments:
  a: {{provider: openai, model: m, api_key: k, base_url: "http://127.0.0.1:{a}/v1", retries: 0}}
  b: {{provider: openai, model: m, api_key: k, base_url: "http://127.0.0.1:{b}/v1", retries: 0}}
routes:
  plain: {{deployments: [a, b]}}
  hedged: {{deployments: [a, b], hedge: {{after_ms: {after}}}}}
settings:
  retries: 0
  retry_budget: {{ratio: 0.2, minimum: 10}}
"""


EVENTS: tuple[tuple[dict[str, str], str | None], ...] = (
    ({"role": "assistant", "content": "Hi"}, None), ({"content": " there"}, None), ({}, "stop"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def upstream(slow: float, delay: float, seed: int) -> web.Application:
    rng = random.Random(seed)

    async def chat(request: web.Request) -> web.StreamResponse:
        await request.read()
        if rng.random() < slow:
            await asyncio.sleep(delay)
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        try:
            await response.prepare(request)
            for delta, finish in EVENTS:
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                await response.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            await response.write(b"data: [DONE]\n\n")
        except ConnectionError:
            pass  # a hedge's loser: the gateway closed it
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


async def ttft(client: httpx.AsyncClient, url: str, route: str) -> float:
    body = {"model": route, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    started = time.perf_counter()
    async with client.stream("POST", url + "/v1/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if '"content"' in line:
                return time.perf_counter() - started
    raise RuntimeError("stream without content")


async def measure(url: str, route: str, requests: int, concurrency: int) -> list[float]:
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:
        async def one() -> float:
            async with gate:
                return await ttft(client, url, route)

        return sorted(await asyncio.gather(*(one() for _ in range(requests))))


def quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


async def serve_upstreams(slow: float, delay: float) -> tuple[list[web.AppRunner], list[int]]:
    runners, ports = [], []
    for seed in (1, 2):
        runner = web.AppRunner(upstream(slow, delay, seed), access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        ports.append(port)
    return runners, ports


def start_gateway(config: Path, port: int) -> subprocess.Popen[bytes]:
    env = {"PATH": os.environ.get("PATH", ""), "LLM_ROUTER_LOG_LEVEL": "warning"}
    process = subprocess.Popen([sys.executable, "-m", "llm_router", "serve", "--port", str(port), "--config",
                                str(config)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gateway did not start")


async def main(args: argparse.Namespace) -> str:
    runners, (a, b) = await serve_upstreams(args.slow, args.delay)
    folder = Path(tempfile.mkdtemp(prefix="llm-router-hedge-"))
    config = folder / "config.yaml"
    config.write_text(CONFIG.format(a=a, b=b, after=args.after_ms))
    port = free_port()
    process = await asyncio.to_thread(start_gateway, config, port)
    url = f"http://127.0.0.1:{port}"
    try:
        await measure(url, "plain", 20, args.concurrency)  # warm-up
        rows = []
        for route in ("plain", "hedged"):
            times = await measure(url, route, args.requests, args.concurrency)
            rows.append(f"| {'on' if route == 'hedged' else 'off'} | {args.requests} | "
                        f"{statistics.median(times) * 1000:.1f} | {quantile(times, 0.95) * 1000:.1f} | "
                        f"{quantile(times, 0.99) * 1000:.1f} | {times[-1] * 1000:.1f} |")
    finally:
        process.terminate()
        process.wait(10)
        for runner in runners:
            await runner.cleanup()
    head = (f"Slow tail: {args.slow:.0%} of answers delayed {args.delay:g} s (each upstream on its own); "
            f"hedge after {args.after_ms} ms; {args.concurrency} streams at a time.\n\n"
            "| hedging | streams | TTFT p50 ms | p95 ms | p99 ms | max ms |\n"
            "| --- | --- | --- | --- | --- | --- |\n")
    return head + "\n".join(rows) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--slow", type=float, default=0.05)
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--after-ms", type=int, default=100)
    table = asyncio.run(main(parser.parse_args()))
    out = Path(__file__).parent / "results" / (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-hedge")
    out.mkdir(parents=True, exist_ok=True)
    (out / "hedge.md").write_text(table)
    print(table)
