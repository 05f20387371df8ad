"""The systems under test and the request each target sends. Every system talks to the same
fake upstream (bench/upstream.js) on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import Server

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
GATEWAY_CORE = "0"  # every system under test: one core, one worker
LOAD_CORE = "1"     # upstream, load generators, py-spy and this orchestrator

UPSTREAM_PORT = 9100
PORTS = {"llm-router": 9201, "litellm": 9202, "portkey": 9203, "floor-aiohttp": 9204, "floor-httpx": 9205}
UPSTREAM = f"http://127.0.0.1:{UPSTREAM_PORT}"

SYSTEM_PROMPT = "You are a concise assistant. Answer in at most three sentences."
USER_PROMPT = ("Explain in plain words what an API gateway does for a team that calls several LLM "
               "providers, and name one risk it removes.")
MESSAGES = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": USER_PROMPT}]
STREAM_OPTS = {"stream": True, "stream_options": {"include_usage": True}}
OPENAI_KEY = "sk-bench-upstream-dummy"
ANTHROPIC_KEY = "sk-ant-bench-upstream-dummy"
LITELLM_MASTER_KEY = "sk-bench-litellm-master"


def openai_body(model: str) -> dict[str, object]:
    return {"model": model, "messages": MESSAGES, "max_tokens": 256, "temperature": 0.7}


@dataclass
class Target:
    """One endpoint of one system, and the request sent to it."""

    name: str                  # "llm-router/openai"
    system: str                # "llm-router"
    url: str
    body: dict[str, object]
    stream_body: dict[str, object]
    stream_kind: str           # loadgen kind for streams: sse | anthropic | text
    baseline: str              # the direct target its added latency is measured against
    headers: dict[str, str] = field(default_factory=dict)
    note: str = ""


@dataclass
class System:
    name: str
    targets: list[Target]
    make_server: object = None  # (out_dir) -> Server | None; None for the direct baseline
    version: str = ""
    unavailable: str = ""       # why it cannot run here, if so


def _openai_target(system: str, route: str, url: str, model: str, headers: dict[str, str],
                   note: str = "") -> Target:
    body = openai_body(model)
    return Target(f"{system}/{route}", system, url, body, {**body, **STREAM_OPTS}, "sse",
                  "direct/openai", headers, note)


def _direct() -> System:
    anthropic_body = {"model": "claude-sonnet-4-5", "max_tokens": 256, "temperature": 0.7,
                      "system": SYSTEM_PROMPT, "messages": [{"role": "user", "content": USER_PROMPT}]}
    return System("direct", [
        _openai_target("direct", "openai", f"{UPSTREAM}/v1/chat/completions", "gpt-4.1-mini",
                       {"authorization": f"Bearer {OPENAI_KEY}"}, "the upstream itself"),
        Target("direct/anthropic", "direct", f"{UPSTREAM}/v1/messages", anthropic_body,
               {**anthropic_body, "stream": True}, "anthropic", "direct/anthropic",
               {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"},
               "the upstream itself, Anthropic Messages"),
    ], version="bench/upstream.js (Node http)")


def _llm_router() -> System:
    port = PORTS["llm-router"]
    base = f"http://127.0.0.1:{port}"
    chat = {"message": USER_PROMPT, "system": SYSTEM_PROMPT, "chat_model_name": "openai",
            "temperature": 0.7, "max_tokens": 256}

    def make(out: Path) -> Server:
        cwd = out / "cwd-llm-router"  # no developer .env is read: settings come from here
        cwd.mkdir(parents=True, exist_ok=True)
        env = {"OPENAI_BASE_URL": f"{UPSTREAM}/v1", "ANTHROPIC_BASE_URL": UPSTREAM,
               "OPENAI_API_KEY": OPENAI_KEY, "ANTHROPIC_API_KEY": ANTHROPIC_KEY}
        if (out / "src/llm_router").is_dir():  # a run measures one snapshot of the source
            env["PYTHONPATH"] = str(out / "src")
        return Server("llm-router", [str(ROOT / ".venv/bin/llm-router"), "serve", "--port", str(port)],
                      core=GATEWAY_CORE, health_url=f"{base}/health", log=out / "logs/llm-router.log",
                      cwd=cwd, env=env)

    return System("llm-router", [
        _openai_target("llm-router", "openai", f"{base}/v1/chat/completions", "openai", {}),
        Target("llm-router/anthropic", "llm-router", f"{base}/v1/chat/completions", openai_body("anthropic"),
               {**openai_body("anthropic"), **STREAM_OPTS}, "sse", "direct/anthropic", {},
               "OpenAI in, Anthropic Messages upstream (translation both ways)"),
        Target("llm-router/chat", "llm-router", f"{base}/chat/", chat, {**chat, "stream": True}, "text",
               "direct/openai", {}, "/chat/ (chat_model_name openai); streams as text/plain"),
    ], make_server=make)


def _litellm() -> System:
    port = PORTS["litellm"]
    exe = BENCH / ".venvs/litellm/bin/litellm"

    def make(out: Path) -> Server:
        cfg = out / "litellm.yaml"
        cfg.write_text(json.dumps({  # JSON is YAML
            "model_list": [{"model_name": "bench-openai", "litellm_params": {
                "model": "openai/gpt-4.1-mini", "api_base": f"{UPSTREAM}/v1", "api_key": OPENAI_KEY}}],
            "general_settings": {"master_key": LITELLM_MASTER_KEY},
            "litellm_settings": {"telemetry": False},
        }, indent=1))
        cwd = out / "cwd-litellm"
        cwd.mkdir(parents=True, exist_ok=True)
        return Server("litellm", [str(exe), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port),
                                  "--num_workers", "1"],
                      core=GATEWAY_CORE, health_url=f"http://127.0.0.1:{port}/health/liveliness",
                      log=out / "logs/litellm.log", cwd=cwd,
                      env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_MASTER_KEY": LITELLM_MASTER_KEY,
                           "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"})

    system = System("litellm", [
        _openai_target("litellm", "openai", f"http://127.0.0.1:{port}/v1/chat/completions", "bench-openai",
                       {"authorization": f"Bearer {LITELLM_MASTER_KEY}"}, "openai/ model with api_base"),
    ], make_server=make)
    if not exe.exists():
        system.unavailable = ("bench/.venvs/litellm/bin/litellm is missing: `pip install "
                              "'litellm[proxy]==1.106.12'` failed (see bench/.venvs/litellm-install.log)")
    return system


def _portkey() -> System:
    port = PORTS["portkey"]
    entry = BENCH / "portkey/node_modules/@portkey-ai/gateway/build/start-server.js"

    def make(out: Path) -> Server:
        return Server("portkey", [shutil.which("node") or "node", str(entry), f"--port={port}", "--headless"],
                      core=GATEWAY_CORE, health_url=f"http://127.0.0.1:{port}/", log=out / "logs/portkey.log",
                      cwd=BENCH / "portkey", env={"NODE_ENV": "production"})

    system = System("portkey", [
        _openai_target("portkey", "openai", f"http://127.0.0.1:{port}/v1/chat/completions", "gpt-4.1-mini",
                       {"x-portkey-provider": "openai", "x-portkey-custom-host": f"{UPSTREAM}/v1",
                        "authorization": f"Bearer {OPENAI_KEY}"}, "routed by x-portkey-* headers"),
    ], make_server=make)
    if not entry.exists():
        system.unavailable = "bench/portkey/node_modules is missing: `npm ci` in bench/portkey failed"
    return system


def _floor(name: str, script: str) -> System:
    port = PORTS[name]

    def make(out: Path) -> Server:
        return Server(name, [str(ROOT / ".venv/bin/python"), str(BENCH / script), str(port)],
                      core=GATEWAY_CORE, health_url=f"http://127.0.0.1:{port}/health",
                      log=out / f"logs/{name}.log", env={"FLOOR_UPSTREAM": UPSTREAM})

    return System(name, [
        _openai_target(name, "openai", f"http://127.0.0.1:{port}/v1/chat/completions", "gpt-4.1-mini", {},
                       f"bench/{script}: bytes in, bytes out"),
    ], make_server=make)


def all_systems() -> list[System]:
    return [_direct(), _llm_router(), _litellm(), _portkey(),
            _floor("floor-aiohttp", "floor.py"), _floor("floor-httpx", "floor_httpx.py")]


def upstream_server(out: Path) -> Server:
    return Server("upstream", [shutil.which("node") or "node", str(BENCH / "upstream.js")], core=LOAD_CORE,
                  health_url=f"{UPSTREAM}/health", log=out / "logs/upstream.log",
                  env={"UPSTREAM_PORT": str(UPSTREAM_PORT)})
