"""The Bedrock fake is faithful: boto3's ``bedrock-runtime`` client (``converse`` and
``converse_stream`` at the fake's ``endpoint_url``) signs, sends and reads exactly what was scripted,
and the fake refuses what a wrong signature would get refused for."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from tests.fakes import Reply, ToolCallSpec
from tests.fakes.bedrock import FakeBedrock

ACCESS, SECRET = "AKIAFAKEBEDROCK01", "fake/secret+key=="
MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
USER = [{"role": "user", "content": [{"text": "hi"}]}]
TEXT = "The quick brown fox jumps."
WEATHER = ToolCallSpec("tooluse_w1", "get_weather", '{"city": "Paris", "unit": "C"}')
TOOLS = {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBedrock]:
    server = FakeBedrock(ACCESS, SECRET, "eu-west-3").start()
    yield server
    server.stop()


def client_for(fake: FakeBedrock, secret: str = SECRET, region: str = "eu-west-3", token: str | None = None):  # type: ignore[no-untyped-def]
    return boto3.client("bedrock-runtime", region_name=region, endpoint_url=fake.base_url,
                        aws_access_key_id=ACCESS, aws_secret_access_key=secret, aws_session_token=token,
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


@pytest.fixture
def brt(fake: FakeBedrock):  # type: ignore[no-untyped-def]
    fake.reset()
    fake.raw_paths.clear()
    return client_for(fake)


def test_converse_text_and_signature(fake, brt):
    fake.enqueue(Reply(text=TEXT, input_tokens=40, output_tokens=5, cached_tokens=30))
    response = brt.converse(modelId=MODEL, messages=USER, system=[{"text": "be brief"}],
                            inferenceConfig={"maxTokens": 50, "temperature": 0.1})
    assert response["output"]["message"]["content"] == [{"text": TEXT}] and response["stopReason"] == "end_turn"
    assert response["usage"] == {"inputTokens": 10, "outputTokens": 5, "totalTokens": 45,
                                 "cacheReadInputTokens": 30, "cacheWriteInputTokens": 0}
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    record = fake.requests[-1]
    assert record.path == f"/model/{MODEL}/converse"  # decoded; on the wire ':' was %3A
    assert fake.raw_paths[-1] == "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/converse"
    assert record.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS}/")
    assert "/eu-west-3/bedrock/aws4_request" in record.headers["authorization"]


def test_converse_tool_use(fake, brt):
    fake.enqueue(Reply(text="Checking.", tool_calls=[WEATHER]))
    response = brt.converse(modelId=MODEL, messages=USER, toolConfig=TOOLS)
    text, use = response["output"]["message"]["content"]
    assert text == {"text": "Checking."} and response["stopReason"] == "tool_use"
    assert use["toolUse"] == {"toolUseId": "tooluse_w1", "name": "get_weather", "input": {"city": "Paris", "unit": "C"}}


def test_converse_stream_frames(fake, brt):
    fake.enqueue(Reply(text=TEXT, tool_calls=[WEATHER], output_tokens=9))
    events = list(brt.converse_stream(modelId=MODEL, messages=USER, toolConfig=TOOLS)["stream"])
    names = [next(iter(e)) for e in events]
    assert names[0] == "messageStart" and names[-2:] == ["messageStop", "metadata"]
    assert "contentBlockStart" not in names[:names.index("contentBlockStop")]  # text opens with its delta
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    args = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events
                   if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"])
    assert text == TEXT and args == WEATHER.arguments
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start == {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_w1", "name": "get_weather"}}}
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 9
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


def test_stream_exception_frame(fake, brt):
    fake.enqueue(Reply(text=TEXT, inband_error_after=3, error_type="throttlingException", error_message="Too many tokens"))
    seen = []
    with pytest.raises(EventStreamError) as caught:
        for event in brt.converse_stream(modelId=MODEL, messages=USER)["stream"]:
            seen.append(next(iter(event)))
    assert seen == ["messageStart", "contentBlockDelta", "contentBlockDelta"]
    assert caught.value.response["Error"] == {"Code": "throttlingException", "Message": "Too many tokens"}


@pytest.mark.parametrize(("status", "code"), [(429, "ThrottlingException"), (400, "ValidationException"),
                                               (500, "InternalServerException"), (424, "ModelErrorException"),
                                               (503, "ServiceUnavailableException")])
def test_http_errors(fake, brt, status, code):
    fake.enqueue(Reply(status=status))
    with pytest.raises(ClientError) as caught:
        brt.converse(modelId=MODEL, messages=USER)
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert isinstance(caught.value, getattr(brt.exceptions, code))


def test_wrong_secret_region_or_token_is_refused(fake):
    fake.reset()
    with pytest.raises(ClientError) as caught:
        client_for(fake, secret="wrong").converse(modelId=MODEL, messages=USER)
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    with pytest.raises(ClientError) as caught:
        client_for(fake, region="us-west-2").converse(modelId=MODEL, messages=USER)
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    unsigned = httpx.post(fake.base_url + "/model/m/converse", json={"messages": USER})
    assert unsigned.status_code == 403 and unsigned.headers["x-amzn-errortype"].startswith("MissingAuthenticationToken")


def test_temporary_credentials_and_bearer_keys():
    fake = FakeBedrock(ACCESS, SECRET, "us-east-1", session_token="tok-1", api_key="ABSK-fake-bearer").start()
    try:
        fake.enqueue(Reply(text="signed"))
        client = client_for(fake, region="us-east-1", token="tok-1")
        assert client.converse(modelId="amazon.nova-micro-v1:0", messages=USER)["output"]["message"]["content"][0]["text"] == "signed"
        assert "x-amz-security-token" in fake.requests[-1].headers["authorization"]
        with pytest.raises(ClientError):
            client_for(fake, region="us-east-1", token="tok-2").converse(modelId="m", messages=USER)
        ok = httpx.post(fake.base_url + "/model/m/converse", json={"messages": USER},
                        headers={"authorization": "Bearer ABSK-fake-bearer"})
        assert ok.status_code == 200
    finally:
        fake.stop()


def test_validation(fake, brt):
    with pytest.raises(ClientError, match="toolConfig field must be defined"):
        brt.converse(modelId=MODEL, messages=[*USER, {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "t", "name": "f", "input": {}}}]}, {"role": "user", "content": [
                {"toolResult": {"toolUseId": "t", "content": [{"text": "x"}]}}]}])
    with pytest.raises(ClientError, match="alternate"):
        brt.converse(modelId=MODEL, messages=[*USER, *USER])
    with pytest.raises(ClientError, match="start with a user"):
        brt.converse(modelId=MODEL, messages=[{"role": "assistant", "content": [{"text": "x"}]}])
