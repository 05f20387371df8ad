"""A gateway whose routes cache, over the shared fakes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

CONFIG = """\
deployments:
  openai-c: {provider: openai, model: gpt-4.1-mini, api_key: "${OPENAI_API_KEY}", base_url: "${OPENAI_BASE_URL}",
             retries: 0, price: {input: 2.0, output: 8.0}}
  anthropic-c: {provider: anthropic, model: claude-haiku-4-5, api_key: "${ANTHROPIC_API_KEY}",
                base_url: "${ANTHROPIC_BASE_URL}", retries: 0, price: {input: 1.0, output: 5.0},
                cache: {ttl: 60}}
  openai-plain: {provider: openai, model: gpt-4.1, api_key: "${OPENAI_API_KEY}", base_url: "${OPENAI_BASE_URL}"}
routes:
  cached: {deployments: [openai-c], cache: {ttl: 60}}
  brief: {deployments: [openai-c], cache: {ttl: 1}}
  anything: {deployments: [openai-c], cache: {ttl: 60, nondeterministic: true}}
  shared: {deployments: [openai-c], cache: {ttl: 60, scope: team}}
  uncached: {deployments: [openai-c]}
  claude: {deployments: [anthropic-c], cache: {ttl: 60}}
settings:
  retries: 0
  timeouts: {total: 10, first_byte: 3, stream_idle: 3}
"""


def chat(url: str, model: str = "cached", stream: bool = False, headers: dict[str, str] | None = None,
         **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "temperature": 0,
            "stream": stream, **extra}
    return httpx.post(url + "/v1/chat/completions", json=body, headers=headers, timeout=20)


def frames(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in response.text.splitlines()
            if line.startswith("data: ") and line != "data: [DONE]"]


def text_of(response: httpx.Response) -> str:
    if response.headers["content-type"].startswith("text/event-stream"):
        return "".join((f["choices"] or [{}])[0].get("delta", {}).get("content") or "" for f in frames(response))
    return str(response.json()["choices"][0]["message"]["content"])


def usage_of(response: httpx.Response) -> dict[str, Any]:
    if response.headers["content-type"].startswith("text/event-stream"):
        return next(f["usage"] for f in frames(response) if f.get("usage"))
    return dict(response.json()["usage"])


def until(check: Callable[[], Any], seconds: float = 3.0) -> Any:
    """Poll ``check`` until it returns something truthy (fail after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def records(log_text: str, request_id: str | None = None) -> list[dict[str, Any]]:
    """The usage records in the gateway's JSON log (one per request)."""
    out = []
    for line in log_text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if "cost_usd" in entry and "attempts" in entry and (request_id is None or entry.get("request_id") == request_id):
            out.append(entry)
    return out
