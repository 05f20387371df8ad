"""The output cap in front of OpenAI-compatible servers (issue 14 item 5), through the server:
the ``llamacpp/`` route and an ``openai-compatible`` config deployment get ``max_tokens`` (both
client fields in, one out), streamed or not, with the same upstream body; OpenAI itself gets
what the client sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CANARY, TEST_TIMEOUTS
from tests.fakes import FakeOpenAI
from tests.gateway_process import GatewayProcess, run_gateway

HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(api_key=CANARY["openai"]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def router(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    config = tmp_path_factory.mktemp("cfg") / "router.yaml"
    config.write_text(f"deployments:\n  compat:\n    provider: openai-compatible\n    model: smollm2\n"
                      f"    base_url: {upstream.base_url}\n    api_key: {CANARY['openai']}\n")
    env = {**TEST_TIMEOUTS, "LLAMACPP_BASE_URL": upstream.base_url, "LLAMACPP_API_KEY": CANARY["openai"],
           "OPENAI_BASE_URL": upstream.base_url, "OPENAI_API_KEY": CANARY["openai"]}
    with run_gateway(env, ("--config", str(Path(config)))) as gateway:
        yield gateway


def sent_body(router: GatewayProcess, upstream: FakeOpenAI, body: dict[str, Any]) -> dict[str, Any]:
    upstream.reset()
    response = httpx.post(router.url + "/v1/chat/completions", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return dict(upstream.requests[-1].body)


@pytest.mark.parametrize("model", ["llamacpp/smollm2", "compat"])
@pytest.mark.parametrize("fields", [{"max_completion_tokens": 12}, {"max_tokens": 12},
                                    {"max_tokens": 500, "max_completion_tokens": 12}])
def test_compatible_servers_get_max_tokens_streamed_or_not(router: GatewayProcess, upstream: FakeOpenAI,
                                                           model: str, fields: dict[str, int]) -> None:
    body = {"model": model, "messages": HI, **fields}
    whole = sent_body(router, upstream, body)
    streamed = sent_body(router, upstream, {**body, "stream": True})
    assert whole["max_tokens"] == 12 and "max_completion_tokens" not in whole
    assert streamed.pop("stream") is True and streamed.pop("stream_options") == {"include_usage": True}
    assert streamed == whole


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_openai_gets_what_the_client_sent(router: GatewayProcess, upstream: FakeOpenAI, field: str) -> None:
    body = {"model": "openai", "messages": HI, field: 12}
    for stream in (False, True):
        sent = sent_body(router, upstream, {**body, "stream": stream})
        assert sent[field] == 12 and len({"max_tokens", "max_completion_tokens"} & set(sent)) == 1
