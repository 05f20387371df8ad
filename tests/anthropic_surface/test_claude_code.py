"""Claude Code itself (``claude -p ... --output-format json``) through the router, with each
upstream fake behind it: a plain prompt and a turn that uses its Read tool.

The npm package ``@anthropic-ai/claude-code`` is installed on first use (``tests/npm_tools.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.anthropic_surface.conftest import MODELS
from tests.conftest import provider_env
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
               bearer: bool, ok: bool = True) -> dict[str, Any]:
    """Claude Code headless; its JSON result."""
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "ANTHROPIC_BASE_URL": router.url,
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1",
           "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_MAX_RETRIES": "0"}
    env["ANTHROPIC_AUTH_TOKEN" if bearer else "ANTHROPIC_API_KEY"] = GATEWAY_KEY
    if model is not None:
        env["ANTHROPIC_MODEL"] = model
    done = subprocess.run([str(claude), "-p", prompt, "--output-format", "json"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    if ok:
        assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:], router.log_text()[-3000:])
    result: dict[str, Any] = json.loads(done.stdout)
    return result


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
