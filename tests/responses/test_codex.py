"""Codex itself (``@openai/codex``, headless ``codex exec``) through the gateway's Responses
surface, with its default configuration, on each upstream fake: a turn where the model runs a
shell command and the next turn gets its output.

Codex is an npm package, installed on first use (``tests/npm_tools.py``); ``CODEX_BIN`` points
at another build.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.fakes import Reply, ToolCallSpec
from tests.gateway_process import GatewayProcess
from tests.npm_tools import npm_binary

PROVIDERS = ["openai", "anthropic", "cohere"]
CODEX_VERSION = "0.171.0"
MODEL = {"openai": "openai/gpt-4.1-mini", "anthropic": "anthropic", "cohere": "cohere"}
CONFIG = """model = "{model}"
model_provider = "router"
approval_policy = "never"
sandbox_mode = "read-only"

[model_providers.router]
name = "llm-router"
base_url = "{base_url}"
wire_api = "responses"
env_key = "ROUTER_KEY"
"""


def run_codex(tmp_path: Path, gateway: GatewayProcess, model: str, prompt: str) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "codex-home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG.format(model=model, base_url=gateway.url + "/v1"))
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "CODEX_HOME": str(home),
           "ROUTER_KEY": "dummy-key"}
    codex = os.environ.get("CODEX_BIN") or str(npm_binary("@openai/codex", CODEX_VERSION, "codex"))
    return subprocess.run([codex, "exec", "--skip-git-repo-check", "--ephemeral", prompt], cwd=work, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def responses_calls(fakes, provider):
    path = {"openai": "/v1/responses", "anthropic": "/v1/messages", "cohere": "/v2/chat"}[provider]
    return [r for r in fakes[provider].requests if r.path == path]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_codex_runs_a_shell_command_and_finishes(tmp_path, gateway, fakes, provider):
    command = ToolCallSpec("call_codex1", "exec_command", json.dumps({"cmd": "echo codex-was-here"}))
    fakes[provider].enqueue(Reply(text="", tool_calls=[command]),
                            Reply(text="The command printed codex-was-here."))
    done = run_codex(tmp_path, gateway, MODEL[provider], "Run echo codex-was-here and tell me what it printed.")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "The command printed codex-was-here." in done.stdout
    calls = responses_calls(fakes, provider)
    assert len(calls) == 2
    second = json.dumps(calls[1].body)
    assert "call_codex1" in second  # the call and its output came back on the next turn
    assert "Process exited with code 0" in second and "codex-was-here" in second  # the command ran
    if provider == "openai":
        first = calls[0].body
        assert first["store"] is False and any(t["type"] == "web_search" for t in first["tools"])
        outputs = [i for i in calls[1].body["input"] if i.get("type") == "function_call_output"]
        assert [o["call_id"] for o in outputs] == ["call_codex1"]
    else:  # hosted tools (web_search) and namespace tools dropped; its function tools kept
        names = json.dumps(calls[0].body.get("tools"))
        assert "exec_command" in names and "web_search" not in names
