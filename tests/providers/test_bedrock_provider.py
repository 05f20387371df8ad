"""BedrockChatModel against the fake Bedrock server, which verifies every SigV4 signature:
text, stream, tools, usage, errors, credentials from botocore's chain, canary secrets."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from llm_router.config.deployment import Deployment, Timeouts
from llm_router.errors import (
    ProviderError,
    ProviderUnavailable,
    UpstreamAuthFailed,
    UpstreamBadRequest,
    UpstreamProtocolError,
    UpstreamRateLimited,
    UpstreamServerError,
)
from llm_router.messages import ChatChunk, ChatRequest, Message, Tool, Usage, merge_chunks
from llm_router.providers.bedrock.chat_model import BedrockChatModel, default_base_url
from llm_router.providers.http import UpstreamClient
from tests.fakes import Reply, ToolCallSpec
from tests.fakes.bedrock import FakeBedrock

ACCESS = "AKIACANARY0BEDROCK7"
SECRET = "canary/Bedrock+Secret=Zq81LmNb40Xv"
TOKEN = "canary-session-token-Hs7Qa4Lx1P"
BEARER = "ABSKcanary-bedrock-api-key-Wd8Fg2"
PROFILE = "eu.anthropic.claude-haiku-4-5-20251001-v1:0"
HI = ChatRequest(PROFILE, (Message("system", "Be brief."), Message("user", "hi")), max_tokens=64)
WEATHER = ToolCallSpec("tooluse_w1", "get_weather", '{"city": "Paris"}')
TOOLS = (Tool("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}}),)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBedrock]:
    server = FakeBedrock(ACCESS, SECRET, "eu-west-3", session_token=TOKEN, api_key=BEARER).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Credentials through botocore's chain, from the environment only."""
    for name in ("AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def model_for(fake: FakeBedrock, http: UpstreamClient, key: str | None = None, model: str = PROFILE) -> BedrockChatModel:
    fake.reset()
    fake.raw_paths.clear()
    deployment = Deployment("bedrock", "bedrock", model, fake.base_url, SecretStr(key) if key else None,
                            Timeouts(connect=2, first_byte=2, stream_idle=2))
    return BedrockChatModel(deployment, http)


async def collect(model: BedrockChatModel, request: ChatRequest = HI) -> tuple[list[ChatChunk], ChatChunk]:
    chunks = [c async for c in model.stream_message(request)]
    return chunks, merge_chunks(chunks)


def test_region_and_default_url() -> None:
    deployment = Deployment("b", "bedrock", "m", default_base_url("ap-south-1"))
    assert BedrockChatModel(deployment, UpstreamClient()).region() == "ap-south-1"
    assert default_base_url("us-east-1") == "https://bedrock-runtime.us-east-1.amazonaws.com"


async def test_text_signed_with_an_inference_profile_id(fake: FakeBedrock, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    fake.enqueue(Reply(text="Hello.", input_tokens=30, output_tokens=2, cached_tokens=20))
    response = await model.send_message(HI)
    assert (response.text, response.finish_reason, response.usage) == ("Hello.", "stop", Usage(30, 2, 20))
    assert fake.raw_paths == ["/model/eu.anthropic.claude-haiku-4-5-20251001-v1:0/converse"]
    record = fake.requests[-1]
    assert record.body["system"] == [{"text": "Be brief."}] and "modelId" not in record.body
    assert record.headers["x-amz-security-token"] == TOKEN


async def test_stream_text_and_tools(fake: FakeBedrock, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    fake.enqueue(Reply(text="One two three.", output_tokens=3), Reply(text="Let me check.", tool_calls=[WEATHER]))
    chunks, merged = await collect(model)
    assert merged.text == "One two three." and merged.usage == Usage(11, 3, 0) and len(chunks) >= 2
    assert fake.raw_paths[-1].endswith("/converse-stream")
    _, merged = await collect(model, ChatRequest(PROFILE, (Message("user", "w?"),), tools=TOOLS))
    assert merged.finish_reason == "tool_calls" and merged.text == "Let me check."
    call = merged.tool_calls[0]
    assert (call.id, call.name, call.arguments) == ("tooluse_w1", "get_weather", '{"city": "Paris"}')


async def test_tool_round_trip_is_accepted(fake: FakeBedrock, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    fake.enqueue(Reply(text="", tool_calls=[WEATHER]), Reply(text="18C."))
    first = ChatRequest(PROFILE, (Message("user", "w?"),), tools=TOOLS)
    response = await model.send_message(first)
    assert response.finish_reason == "tool_calls"
    follow = ChatRequest(PROFILE, (*first.messages, Message("assistant", None, tool_calls=response.tool_calls),
                                   Message("tool", "18C", tool_call_id=response.tool_calls[0].id)), tools=TOOLS)
    assert (await model.send_message(follow)).text == "18C."


async def test_bearer_api_key(fake: FakeBedrock, http: UpstreamClient) -> None:
    model = model_for(fake, http, key=BEARER)
    fake.enqueue(Reply(text="via key"))
    assert (await model.send_message(HI)).text == "via key"
    assert fake.requests[-1].headers["authorization"] == f"Bearer {BEARER}"


@pytest.mark.parametrize(("reply", "error"), [
    (Reply(status=429), UpstreamRateLimited), (Reply(status=400), UpstreamBadRequest),
    (Reply(status=500), UpstreamServerError), (Reply(status=503), UpstreamServerError),
    (Reply(status=424), UpstreamServerError), (Reply(status=408), UpstreamServerError),
    (Reply(status=403), UpstreamAuthFailed),
])
async def test_error_classes(fake: FakeBedrock, http: UpstreamClient, reply: Reply, error: type[ProviderError]) -> None:
    model = model_for(fake, http)
    fake.enqueue(reply, reply)
    with pytest.raises(error) as raised:
        await model.send_message(HI)
    assert raised.value.status == reply.status and raised.value.upstream_type
    with pytest.raises(error):
        await collect(model)


async def test_stream_faults(fake: FakeBedrock, http: UpstreamClient) -> None:
    model = model_for(fake, http)
    fake.enqueue(Reply(text="a b c d", inband_error_after=3, error_type="throttlingException"),
                 Reply(text="a b c d", cut_after=3), Reply(text="a b c d", malformed=True),
                 Reply(malformed=True))
    seen: list[str] = []
    with pytest.raises(UpstreamRateLimited):
        async for chunk in model.stream_message(HI):
            seen.append(chunk.text)
    assert "".join(seen) == "a b"
    with pytest.raises(ProviderError):
        await collect(model)
    _, merged = await collect(model)  # a frame with unreadable JSON is skipped
    assert merged.text == "a b c d" and merged.finish_reason == "stop"
    with pytest.raises(UpstreamProtocolError):
        await model.send_message(HI)


async def test_wrong_secret_is_an_auth_failure(fake: FakeBedrock, http: UpstreamClient,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET[::-1])
    with pytest.raises(UpstreamAuthFailed) as raised:
        await model_for(fake, http).send_message(HI)
    assert raised.value.upstream_type == "InvalidSignatureException"


async def test_no_credentials_is_unavailable(fake: FakeBedrock, http: UpstreamClient,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    with pytest.raises(ProviderUnavailable, match="no AWS credentials"):
        await model_for(fake, http).send_message(HI)


async def test_canary_secrets_appear_nowhere(fake: FakeBedrock, http: UpstreamClient,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    model = model_for(fake, http)
    fake.enqueue(Reply(text="ok"), Reply(text="ok"))
    await model.send_message(HI)
    await collect(model)
    sent = " ".join(f"{r.path} {r.headers}" for r in fake.requests) + " ".join(fake.raw_paths)
    assert SECRET not in sent and SECRET not in caplog.text  # only the signature travels
    keyed = model_for(fake, http, key=BEARER[::-1])
    with pytest.raises(UpstreamAuthFailed) as raised:
        await keyed.send_message(HI)
    texts = [str(raised.value), repr(raised.value), repr(keyed.deployment), keyed.url, caplog.text]
    for secret in (SECRET, BEARER, BEARER[::-1]):
        assert not any(secret in t for t in texts)
