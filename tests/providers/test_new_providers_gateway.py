"""Gemini, Azure OpenAI, Bedrock and Vertex AI reached through every surface of the real
application (in process), configured from the environment only, against their fakes; their
keys appear in no answer and no log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.api.conftest import app_client
from tests.fakes import Reply
from tests.fakes.azure import FakeAzure
from tests.fakes.bedrock import FakeBedrock
from tests.fakes.gemini import FakeGemini
from tests.fakes.vertex import FakeVertex, FakeVertexAnthropic, TokenIssuer

KEYS = {"gemini": "AIza-canary-gw-Gm7Qa4Lx1P", "azure": "az-canary-gw-3f9d0c7be15a",
        "bedrock": "ABSK-canary-gw-Wd8Fg2Hs7Q", "vertex": "AQ.unused"}
PROVIDERS = ("gemini", "azure", "bedrock", "vertex", "vertex-anthropic")


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, object]]:
    issuer = TokenIssuer()
    started = {
        "gemini": FakeGemini(api_key=KEYS["gemini"]).start(),
        "azure": FakeAzure(api_key=KEYS["azure"], deployments=("prod-gpt",)).start(),
        "bedrock": FakeBedrock(region="eu-west-3", api_key=KEYS["bedrock"]).start(),
        "vertex": FakeVertex("proj-9", "europe-west4", issuer).start(),
        "vertex-anthropic": FakeVertexAnthropic("proj-9", "us-east5", issuer).start(),
    }
    yield started
    for server in started.values():
        server.stop()  # type: ignore[attr-defined]


@pytest.fixture
def env(servers: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    account = tmp_path / "sa.json"
    account.write_text(json.dumps({"type": "service_account", "project_id": "proj-9", "private_key": pem,
                                   "private_key_id": "1", "client_email": "r@proj-9.iam.gserviceaccount.com",
                                   "token_uri": f"http://127.0.0.1:{servers['vertex'].port}/token"}))  # type: ignore[attr-defined]
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(account))  # read at the first request
    for server in servers.values():
        server.reset()  # type: ignore[attr-defined]
    port = {name: s.port for name, s in servers.items()}  # type: ignore[attr-defined]
    return {
        "GEMINI_API_KEY": KEYS["gemini"], "GEMINI_BASE_URL": f"http://127.0.0.1:{port['gemini']}/v1beta",
        "AZURE_API_KEY": KEYS["azure"], "AZURE_BASE_URL": f"http://127.0.0.1:{port['azure']}",
        "AZURE_MODEL": "prod-gpt", "AZURE_API_VERSION": "2024-10-21",
        "BEDROCK_API_KEY": KEYS["bedrock"], "BEDROCK_BASE_URL": f"http://127.0.0.1:{port['bedrock']}",
        "VERTEX_BASE_URL": f"http://127.0.0.1:{port['vertex']}/v1", "VERTEXAI_PROJECT": "proj-9",
        "VERTEXAI_LOCATION": "europe-west4",
        "VERTEX_ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port['vertex-anthropic']}/v1",
        "ANTHROPIC_VERTEX_PROJECT_ID": "proj-9", "CLOUD_ML_REGION": "us-east5",
        "GOOGLE_APPLICATION_CREDENTIALS": str(account),
        "LLM_ROUTER_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
    }


def assert_no_keys(*texts: str) -> None:
    for text in texts:
        assert not any(key in text for key in KEYS.values())


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_every_surface(provider: str, servers: dict[str, object], env: dict[str, str],
                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = servers[provider]
    fake.enqueue(Reply(text="Whole answer."), Reply(text="Streamed answer here."),  # type: ignore[attr-defined]
                 Reply(text="Via messages."), Reply(text="Via chat."))
    user = [{"role": "user", "content": "hi"}]
    async with app_client(env) as client:
        whole = await client.post("/v1/chat/completions", json={"model": provider, "messages": user})
        assert whole.status_code == 200, whole.text
        assert whole.json()["choices"][0]["message"]["content"] == "Whole answer."
        assert whole.json()["usage"]["prompt_tokens"] == 11
        async with client.stream("POST", "/v1/chat/completions",
                                 json={"model": provider, "messages": user, "stream": True}) as stream:
            body = "".join([part async for part in stream.aiter_text()])
        pieces = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: {")]
        assert "".join(c["choices"][0]["delta"].get("content") or "" for c in pieces if c["choices"]) == \
            "Streamed answer here."
        assert body.rstrip().endswith("data: [DONE]")
        messages = await client.post("/v1/messages", json={"model": provider, "max_tokens": 50, "messages": user})
        assert messages.status_code == 200, messages.text
        assert messages.json()["content"][0]["text"] == "Via messages."
        chat = await client.post("/chat/", json={"message": "hi", "chat_model_name": provider})
        assert chat.status_code == 200, chat.text
        health = (await client.get("/health")).text
    assert_no_keys(whole.text, body, messages.text, chat.text, health, caplog.text)


async def test_upstream_errors_map_without_leaking_keys(servers: dict[str, object], env: dict[str, str],
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for provider in ("gemini", "azure", "bedrock"):
        servers[provider].enqueue(Reply(status=429), Reply(status=429), Reply(status=429))  # type: ignore[attr-defined]
    user = [{"role": "user", "content": "hi"}]
    async with app_client(env) as client:
        answers = [await client.post("/v1/chat/completions", json={"model": p, "messages": user})
                   for p in ("gemini", "azure", "bedrock")]
    assert [a.status_code for a in answers] == [429, 429, 429]
    assert_no_keys(*(a.text for a in answers), caplog.text)


async def test_missing_cloud_credentials_is_a_clear_503(env: dict[str, str], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    bare = {k: v for k, v in env.items() if k not in ("BEDROCK_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS")}
    user = [{"role": "user", "content": "hi"}]
    async with app_client(bare) as client:
        bedrock = await client.post("/v1/chat/completions", json={"model": "bedrock", "messages": user})
        vertex = await client.post("/v1/chat/completions", json={"model": "vertex", "messages": user})
    assert (bedrock.status_code, vertex.status_code) == (503, 503)
    assert "no AWS credentials" in bedrock.json()["error"]["message"]
    assert "GOOGLE_APPLICATION_CREDENTIALS" in vertex.json()["error"]["message"]
