"""Real third-party OpenAI clients against the router, on the openai, anthropic and cohere fakes.

Each client runs in a subprocess from its own venv (their pins conflict; ``venvs.py``), with a
script in ``scripts/`` that runs its cases in order and prints one JSON line per case. The
replies each case needs are queued on the provider's fake beforehand, in the same order.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clients.venvs import python_of
from tests.fakes import Reply, ToolCallSpec

pytestmark = pytest.mark.clients
SCRIPTS = Path(__file__).resolve().parent / "scripts"
PROVIDERS = ("openai", "anthropic", "cohere")

HELLO = Reply(text="Hello there.")
COUNT = Reply(text="one two three")
PERSON = '{"name": "Ada", "age": 36}'


def call(name: str, arguments: str, call_id: str = "call_1") -> Reply:
    return Reply(text="", tool_calls=[ToolCallSpec(call_id, name, arguments)])


LOOKUP = call("lookup", '{"q": "cat"}')
CAT = Reply(text="A cat is a small animal.")

#: (script, its cases, the replies in the order the cases use them)
CLIENTS: dict[str, tuple[str, tuple[str, ...], list[Reply]]] = {
    "langchain": ("langchain_client.py",
                  ("invoke", "stream", "bind_tools_round_trip", "structured_default", "structured_json_mode",
                   "structured_function_calling"),
                  [HELLO, COUNT, LOOKUP, CAT, Reply(text=PERSON), Reply(text=PERSON), call("Person", PERSON)]),
    "litellm": ("litellm_client.py", ("completion", "stream", "tools_round_trip"), [HELLO, COUNT, LOOKUP, CAT]),
    "pydantic_ai": ("pydantic_ai_client.py", ("run", "run_stream", "output_type", "tool"),
                    [HELLO, COUNT, call("final_result", PERSON), LOOKUP, CAT]),
    "instructor": ("instructor_client.py", ("tools", "json"), [call("Person", PERSON), Reply(text=PERSON)]),
    "agents": ("agents_client.py", ("function_tool", "output_type_with_tool", "streamed"),
               [LOOKUP, CAT, LOOKUP, Reply(text=PERSON), LOOKUP, CAT]),
    "llamaindex": ("llamaindex_client.py", ("chat", "stream_chat", "chat_with_tools"),
                   [HELLO, COUNT, LOOKUP, CAT]),
}


def run_client(client: str, gateway: Any, provider: str) -> dict[str, dict[str, Any]]:
    script = CLIENTS[client][0]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "ROUTER_URL": gateway.url, "ROUTER_MODEL": provider, "PYTHONDONTWRITEBYTECODE": "1",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_AGENTS_DISABLE_TRACING": "1",
           "LITELLM_TELEMETRY": "False", "DO_NOT_TRACK": "1"}
    done = subprocess.run([str(python_of(client)), str(SCRIPTS / script)], env=env, cwd=SCRIPTS,
                          capture_output=True, text=True, timeout=300, check=False)
    results = {}
    for line in done.stdout.splitlines():
        if line.startswith('{"case"'):
            row = json.loads(line)
            results[row["case"]] = row
    assert results, f"{client} printed no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}"
    return results


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("client", list(CLIENTS))
def test_client(client: str, provider: str, gateway: Any, fakes: Any) -> None:
    _, cases, replies = CLIENTS[client]
    fakes[provider].enqueue(*replies)
    results = run_client(client, gateway, provider)
    assert set(results) == set(cases), f"cases run: {sorted(results)}"
    failed = {name: row["detail"] for name, row in results.items() if not row["ok"]}
    assert not failed, "\n\n".join(f"--- {name}\n{detail}" for name, detail in failed.items())
