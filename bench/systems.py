"""The systems under test and the request each target sends. Every system talks to the same
fake upstream (bench/upstream.js) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import Server

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
_CORES = sorted(os.sched_getaffinity(0))  # a CI runner may allow other cores, or only one
GATEWAY_CORE = str(_CORES[0])  # every system under test: one core, one worker
LOAD_CORE = str(_CORES[1] if len(_CORES) > 1 else _CORES[0])  # upstream, load generators, py-spy, this

UPSTREAM_PORT = 9100
PORTS = {"llm-router": 9201, "litellm": 9202, "portkey": 9203, "floor-aiohttp": 9204, "floor-httpx": 9205,
         "llm-router-policies": 9206}
UPSTREAM = f"http://127.0.0.1:{UPSTREAM_PORT}"

SYSTEM_PROMPT = "You are a concise assistant. Answer in at most three sentences."
USER_PROMPT = ("Explain in plain words what an API gateway does for a team that calls several LLM "
               "providers, and name one risk it removes.")
MESSAGES = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": USER_PROMPT}]
STREAM_OPTS = {"stream": True, "stream_options": {"include_usage": True}}
OPENAI_KEY = "sk-bench-upstream-dummy"
ANTHROPIC_KEY = "sk-ant-bench-upstream-dummy"
LITELLM_MASTER_KEY = "sk-bench-litellm-master"
ADMIN_KEY = "bench-admin-key-0123456789abcdef-0123456789"  # >= 32 characters: the admin plane is on
#: The virtual key of the policies variant: limits that never trigger at these rates (rpm
#: above 60 x the highest throughput), a budget far from being spent.
POLICY_KEY = {"name": "bench", "limits": {"rpm": 10_000_000, "tpm": 1_000_000_000},
              "budget": {"max_usd": 1_000_000, "period": "month"}}
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}
EMBED_MODEL = "text-embedding-3-small"


def openai_body(model: str) -> dict[str, object]:
    return {"model": model, "messages": MESSAGES, "max_tokens": 256, "temperature": 0.7}


def anthropic_body(model: str) -> dict[str, object]:
    return {"model": model, "max_tokens": 256, "temperature": 0.7, "system": SYSTEM_PROMPT,
            "messages": [{"role": "user", "content": USER_PROMPT}]}


def responses_body(model: str) -> dict[str, object]:
    return {"model": model, "instructions": SYSTEM_PROMPT, "input": USER_PROMPT, "max_output_tokens": 256,
            "temperature": 0.7, "store": False}


def embeddings_body(model: str) -> dict[str, object]:
    return {"model": model, "input": USER_PROMPT, "encoding_format": "base64"}  # the SDKs' default


@dataclass
class Target:
    """One endpoint of one system, and the request sent to it."""

    name: str                  # "llm-router/openai"
    system: str                # "llm-router"
    url: str
    body: dict[str, object]
    stream_body: dict[str, object] | None  # None: the surface does not stream (embeddings)
    stream_kind: str           # loadgen kind for streams: sse | anthropic | responses | text
    baseline: str              # the direct target its added latency is measured against
    headers: dict[str, str] = field(default_factory=dict)
    note: str = ""
    main: bool = True          # False: a surface row, run with the core cells only (runner.Plan)
    compare: str = ""          # the row its ratio is reported against (report.surfaces)


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
    body = anthropic_body("claude-sonnet-4-5")
    resp = responses_body("gpt-4.1-mini")
    auth = {"authorization": f"Bearer {OPENAI_KEY}"}
    return System("direct", [
        _openai_target("direct", "openai", f"{UPSTREAM}/v1/chat/completions", "gpt-4.1-mini", auth,
                       "the upstream itself"),
        Target("direct/anthropic", "direct", f"{UPSTREAM}/v1/messages", body, {**body, "stream": True},
               "anthropic", "direct/anthropic", {"x-api-key": ANTHROPIC_KEY, **ANTHROPIC_HEADERS},
               "the upstream itself, Anthropic Messages"),
        Target("direct/responses", "direct", f"{UPSTREAM}/v1/responses", resp, {**resp, "stream": True},
               "responses", "direct/responses", auth, "the upstream itself, OpenAI Responses", main=False),
        Target("direct/embeddings", "direct", f"{UPSTREAM}/v1/embeddings", embeddings_body(EMBED_MODEL), None,
               "json", "direct/embeddings", auth, "the upstream itself, OpenAI embeddings", main=False),
    ], version="bench/upstream.js (Node http)")


def surface_targets(system: str, base: str, headers: dict[str, str], compare: str) -> list[Target]:
    """The surfaces beyond /v1/chat/completions, each on a pass-through and a translated pair."""
    h = {**headers, **ANTHROPIC_HEADERS}

    def t(route: str, path: str, body: dict[str, object], kind: str, baseline: str, note: str,
          headers: dict[str, str], stream: bool = True) -> Target:
        return Target(f"{system}/{route}", system, base + path, body, {**body, "stream": True} if stream else None,
                      kind, baseline, headers, note, main=False, compare=compare)

    return [
        t("messages-anthropic", "/v1/messages", anthropic_body("anthropic"), "anthropic", "direct/anthropic",
          "/v1/messages on an Anthropic upstream (pass-through)", h),
        t("messages-openai", "/v1/messages", anthropic_body("openai"), "anthropic", "direct/openai",
          "/v1/messages on an OpenAI upstream (translated both ways)", h),
        t("responses-openai", "/v1/responses", responses_body("openai"), "responses", "direct/responses",
          "/v1/responses on an OpenAI upstream (pass-through)", headers),
        t("responses-anthropic", "/v1/responses", responses_body("anthropic"), "responses", "direct/anthropic",
          "/v1/responses on an Anthropic upstream (translated both ways)", headers),
        t("embeddings", "/v1/embeddings", embeddings_body(f"openai/{EMBED_MODEL}"), "json", "direct/embeddings",
          "/v1/embeddings, one input, base64 (OpenAI upstream)", headers, stream=False),
    ]


def _router_server(name: str, out: Path, env: dict[str, str] | None = None) -> Server:
    port = PORTS[name]
    cwd = out / f"cwd-{name}"  # no developer .env is read: settings come from here
    cwd.mkdir(parents=True, exist_ok=True)
    env = {"OPENAI_BASE_URL": f"{UPSTREAM}/v1", "ANTHROPIC_BASE_URL": UPSTREAM,
           "OPENAI_API_KEY": OPENAI_KEY, "ANTHROPIC_API_KEY": ANTHROPIC_KEY, **(env or {})}
    if (out / "src/llm_router").is_dir():  # a run measures one snapshot of the source
        env["PYTHONPATH"] = str(out / "src")
    return Server(name, [str(ROOT / ".venv/bin/llm-router"), "serve", "--port", str(port)],
                  core=GATEWAY_CORE, health_url=f"http://127.0.0.1:{port}/health", log=out / f"logs/{name}.log",
                  cwd=cwd, env=env)


def _llm_router() -> System:
    base = f"http://127.0.0.1:{PORTS['llm-router']}"
    chat = {"message": USER_PROMPT, "system": SYSTEM_PROMPT, "chat_model_name": "openai",
            "temperature": 0.7, "max_tokens": 256}
    return System("llm-router", [
        _openai_target("llm-router", "openai", f"{base}/v1/chat/completions", "openai", {}),
        Target("llm-router/anthropic", "llm-router", f"{base}/v1/chat/completions", openai_body("anthropic"),
               {**openai_body("anthropic"), **STREAM_OPTS}, "sse", "direct/anthropic", {},
               "OpenAI in, Anthropic Messages upstream (translation both ways)", compare="llm-router/openai"),
        Target("llm-router/chat", "llm-router", f"{base}/chat/", chat, {**chat, "stream": True}, "text",
               "direct/openai", {}, "/chat/ (chat_model_name openai); streams as text/plain",
               compare="llm-router/openai"),
        *surface_targets("llm-router", base, {}, "llm-router/openai"),
    ], make_server=lambda out: _router_server("llm-router", out))


class PolicyServer(Server):
    """llm-router with the admin plane on (SQLite ledger in the run's folder): after start-up it
    creates a virtual key (POST /admin/keys, rpm/tpm limits and a budget) and puts it in the
    authorization header of every target of the system."""

    def __init__(self, server: Server, targets: list[Target]) -> None:
        super().__init__(server.name, server.cmd, core=server.core, health_url=server.health_url,
                         log=server.log, cwd=server.cwd)
        self.env = server.env
        self.targets = targets

    def start(self, timeout: float = 120.0) -> None:
        assert self.cwd is not None
        for leftover in self.cwd.glob("bench.db*"):  # every start: a fresh database and key
            leftover.unlink()
        super().start(timeout)
        base = self.health_url.removesuffix("/health")
        req = urllib.request.Request(f"{base}/admin/keys", data=json.dumps(POLICY_KEY).encode(), headers={
            "content-type": "application/json", "authorization": f"Bearer {ADMIN_KEY}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            key = json.loads(r.read())["key"]
        for t in self.targets:
            t.headers["authorization"] = f"Bearer {key}"


def _llm_router_policies() -> System:
    """The same llm-router with virtual keys, limits and a budget (the admin plane on)."""
    base = f"http://127.0.0.1:{PORTS['llm-router-policies']}"
    targets = [_openai_target("llm-router-policies", "openai", f"{base}/v1/chat/completions", "openai", {},
                              "virtual key with rpm/tpm limits and a budget, SQLite ledger")]
    targets[0].compare = "llm-router/openai"

    def make(out: Path) -> Server:
        cwd = out / "cwd-llm-router-policies"
        server = _router_server("llm-router-policies", out, {
            "LLM_ROUTER_ADMIN_KEY": ADMIN_KEY, "LLM_ROUTER_DATABASE_URL": f"sqlite:///{cwd / 'bench.db'}"})
        return PolicyServer(server, targets)

    return System("llm-router-policies", targets, make_server=make)


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


def floor_surfaces(name: str = "floor-aiohttp") -> list[Target]:
    """The floor forwarding each surface's body to the upstream's same path (for --quick)."""
    base = f"http://127.0.0.1:{PORTS[name]}"
    return [
        Target(f"{name}/messages", name, f"{base}/v1/messages", anthropic_body("claude-sonnet-4-5"), None,
               "anthropic", "direct/anthropic", dict(ANTHROPIC_HEADERS), main=False),
        Target(f"{name}/responses", name, f"{base}/v1/responses", responses_body("gpt-4.1-mini"), None,
               "responses", "direct/responses", {}, main=False),
        Target(f"{name}/embeddings", name, f"{base}/v1/embeddings", embeddings_body(EMBED_MODEL), None,
               "json", "direct/embeddings", {}, main=False),
    ]


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
    return [_direct(), _llm_router(), _llm_router_policies(), _litellm(), _portkey(),
            _floor("floor-aiohttp", "floor.py"), _floor("floor-httpx", "floor_httpx.py")]


def upstream_server(out: Path) -> Server:
    return Server("upstream", [shutil.which("node") or "node", str(BENCH / "upstream.js")], core=LOAD_CORE,
                  health_url=f"{UPSTREAM}/health", log=out / "logs/upstream.log",
                  env={"UPSTREAM_PORT": str(UPSTREAM_PORT)})
