"""Azure OpenAI with Microsoft Entra ID (issue 21 item 4), through the in-process app: a
static AZURE_AD_TOKEN, or tokens from azure-identity (DefaultAzureCredential reaching a
loopback managed-identity endpoint) refreshed off the request path, each sent as
``Authorization: Bearer`` to the Azure fake; never in a response or the log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import app_client
from tests.conftest import TEST_TIMEOUTS
from tests.fakes.azure import FakeAzure
from tests.fakes.azure_identity import FakeManagedIdentity

KEY = "az-canary-unused-key-5d1e"
STATIC = "static-entra-token-8c2f"
HI = {"model": "azure", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture(scope="module")
def azure() -> Iterator[FakeAzure]:
    server = FakeAzure(api_key=KEY, ad_tokens={STATIC}).start()
    yield server
    server.stop()


@pytest.fixture
def identity(azure: FakeAzure, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeManagedIdentity]:
    """A managed-identity endpoint whose tokens the Azure fake accepts; azure-identity reads
    IDENTITY_ENDPOINT when the router first needs a token (during a request)."""
    server = FakeManagedIdentity(accepted=azure.ad_tokens).start()
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    yield server
    server.stop()


def azure_env(azure: FakeAzure, **extra: str) -> dict[str, str]:
    azure.reset()
    return {**TEST_TIMEOUTS, "AZURE_BASE_URL": azure.base_url, "AZURE_MODEL": "gpt-4o",
            "AZURE_API_VERSION": "2024-10-21", **extra}


def sent_credentials(azure: FakeAzure) -> tuple[str | None, str | None]:
    headers = azure.requests[-1].headers
    return headers.get("api-key"), headers.get("authorization")


@pytest.mark.parametrize("stream", [False, True])
async def test_a_static_entra_token_is_sent_as_bearer(azure: FakeAzure, stream: bool) -> None:
    async with app_client(azure_env(azure, AZURE_AD_TOKEN=STATIC)) as client:
        answer = await client.post("/v1/chat/completions", json={**HI, "stream": stream})
        health = await client.get("/health")
    assert answer.status_code == 200, answer.text
    assert sent_credentials(azure) == (None, f"Bearer {STATIC}")
    assert STATIC not in answer.text and STATIC not in health.text


async def test_a_key_still_wins(azure: FakeAzure) -> None:
    async with app_client(azure_env(azure, AZURE_API_KEY=KEY, AZURE_AD_TOKEN=STATIC)) as client:
        answer = await client.post("/v1/chat/completions", json=HI)
    assert answer.status_code == 200, answer.text
    assert sent_credentials(azure) == (KEY, None)


async def test_no_credentials_is_a_503_naming_every_way_to_set_them(azure: FakeAzure) -> None:
    async with app_client(azure_env(azure)) as client:
        answer = await client.post("/v1/chat/completions", json=HI)
    assert answer.status_code == 503, answer.text
    assert "AZURE_API_KEY or AZURE_AD_TOKEN or AZURE_AUTH" in answer.json()["error"]["message"]
    assert azure.requests == []


async def test_azure_identity_tokens_are_refreshed_off_the_request_path(azure: FakeAzure,
                                                                        identity: FakeManagedIdentity) -> None:
    identity.lifetime = 200.0  # inside the 300 s refresh-ahead window: the next use refreshes it
    async with app_client(azure_env(azure, AZURE_AUTH="entra")) as client:
        first = await client.post("/v1/chat/completions", json=HI)
        assert first.status_code == 200, first.text
        assert sent_credentials(azure) == (None, "Bearer entra-token-1")
        assert identity.resources == ["https://cognitiveservices.azure.com"]
        identity.lifetime = 3600.0  # the refreshed token is good for an hour
        second = await client.post("/v1/chat/completions", json={**HI, "stream": True})
        assert second.status_code == 200, second.text
        assert sent_credentials(azure) == (None, "Bearer entra-token-1")  # not waiting for the refresh
        deadline, texts = time.monotonic() + 10, first.text + second.text
        while sent_credentials(azure) != (None, "Bearer entra-token-2") and time.monotonic() < deadline:
            later = await client.post("/v1/chat/completions", json=HI)  # the refreshed token, once ready
            assert later.status_code == 200, later.text
            texts += later.text
    assert sent_credentials(azure) == (None, "Bearer entra-token-2")
    assert identity.issued == ["entra-token-1", "entra-token-2"]  # one refresh, however many requests
    assert "entra-token" not in texts


async def test_a_config_deployment_can_use_entra(azure: FakeAzure, identity: FakeManagedIdentity,
                                                 tmp_path: Path) -> None:
    config = tmp_path / "router.yaml"
    config.write_text(f"deployments:\n  prod:\n    provider: azure\n    model: my-deployment\n"
                      f"    base_url: {azure.base_url}/openai/v1\n    azure_auth: entra\n")
    async with app_client(azure_env(azure), config_path=str(config)) as client:
        answer = await client.post("/v1/chat/completions", json={**HI, "model": "prod"})
    assert answer.status_code == 200, answer.text
    assert azure.requests[-1].path == "/openai/v1/chat/completions"
    assert sent_credentials(azure) == (None, "Bearer entra-token-1")


async def test_a_litellm_azure_entry_with_an_entra_token_loads(azure: FakeAzure, tmp_path: Path) -> None:
    config = tmp_path / "litellm_config.yaml"
    config.write_text(f"model_list:\n  - model_name: gpt\n    litellm_params:\n      model: azure/gpt-4o\n"
                      f"      api_base: {azure.base_url}\n      api_version: 2024-10-21\n"  # a YAML date
                      f"      azure_ad_token: os.environ/MY_ENTRA_TOKEN\n")
    async with app_client({**azure_env(azure), "MY_ENTRA_TOKEN": STATIC}, config_path=str(config)) as client:
        answer = await client.post("/v1/chat/completions", json={**HI, "model": "gpt"})
    assert answer.status_code == 200, answer.text
    assert sent_credentials(azure) == (None, f"Bearer {STATIC}")
