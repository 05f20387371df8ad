"""Shared fixtures: the three fake providers and a gateway process pointed at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes import FakeAnthropic, FakeCohere, FakeOpenAI
from tests.gateway_process import GatewayProcess, run_gateway

# Canary keys: they must never appear in a response or a log line.
CANARY = {
    "openai": "sk-canary-openai-7Hq2Zx9PLm4Rt8Vw",
    "anthropic": "sk-ant-canary-Ju3Nc6Ye1Bv5Ko0S",
    "cohere": "co-canary-Wd8Fg2Hs7Qa4Lx1P",
}
TEST_TIMEOUTS = {
    "LLM_ROUTER_CONNECT_TIMEOUT": "2",
    "LLM_ROUTER_FIRST_BYTE_TIMEOUT": "2",
    "LLM_ROUTER_STREAM_IDLE_TIMEOUT": "2",
}


@pytest.fixture(scope="session")
def fakes() -> Iterator[dict[str, FakeOpenAI | FakeAnthropic | FakeCohere]]:
    """The three fakes, started once; reset before each test by ``fake``."""
    servers = {
        "openai": FakeOpenAI(api_key=CANARY["openai"]).start(),
        "anthropic": FakeAnthropic(api_key=CANARY["anthropic"]).start(),
        "cohere": FakeCohere(api_key=CANARY["cohere"]).start(),
    }
    yield servers
    for server in servers.values():
        server.stop()


def provider_env(fakes: dict[str, FakeOpenAI | FakeAnthropic | FakeCohere]) -> dict[str, str]:
    """Environment pointing the gateway at the fakes, with canary keys."""
    env = dict(TEST_TIMEOUTS)
    for name, server in fakes.items():
        env[f"{name.upper()}_API_KEY"] = CANARY[name]
        env[f"{name.upper()}_BASE_URL"] = server.base_url
    return env


@pytest.fixture(scope="session")
def gateway(fakes: dict[str, FakeOpenAI | FakeAnthropic | FakeCohere]) -> Iterator[GatewayProcess]:
    """The real service under uvicorn, configured for the three fakes."""
    with run_gateway(provider_env(fakes)) as process:
        yield process


@pytest.fixture(autouse=True)
def _reset_fakes(request: pytest.FixtureRequest) -> None:
    if "fakes" in request.fixturenames or "gateway" in request.fixturenames:
        for server in request.getfixturevalue("fakes").values():
            server.reset()
