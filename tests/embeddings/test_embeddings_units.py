"""Embedding encodings, request decoding and batching (no network)."""

from __future__ import annotations

import asyncio
import base64
import struct

import orjson
import pytest

from llm_router.api.embeddings_schema import parse_request, to_canonical
from llm_router.api.embeddings_wire import encode
from llm_router.errors import InvalidRequest
from llm_router.messages import Usage
from llm_router.providers.embeddings import EmbedRequest, EmbedResponse, embed_batched, from_base64, to_base64


def test_base64_is_little_endian_float32_both_ways():
    vector = [0.25, -1.5, 3.0, 1e-3]
    text = to_base64(vector)
    assert base64.b64decode(text) == struct.pack("<4f", *vector)
    assert from_base64(text) == list(struct.unpack("<4f", struct.pack("<4f", *vector)))
    with pytest.raises(ValueError):
        from_base64(base64.b64encode(b"abc").decode())


def test_wire_encodings_agree():
    response = EmbedResponse("m", [[0.5, -0.25], [1.0, 2.0]], Usage(3, 0))
    floats = orjson.loads(encode(response, "float", "m"))
    packed = orjson.loads(encode(response, "base64", "m"))
    assert [d["embedding"] for d in floats["data"]] == [[0.5, -0.25], [1.0, 2.0]]
    assert [from_base64(d["embedding"]) for d in packed["data"]] == [[0.5, -0.25], [1.0, 2.0]]
    assert floats["usage"] == {"prompt_tokens": 3, "total_tokens": 3}


@pytest.mark.parametrize(("value", "inputs"), [
    ("one", ("one",)), (["a", "b"], ("a", "b")), ([1, 2, 3], ((1, 2, 3),)), ([[1], [2, 3]], ((1,), (2, 3))),
])
def test_input_shapes(value, inputs):
    body = {"model": "m", "input": value}
    assert to_canonical(parse_request(orjson.dumps(body)), body).inputs == inputs


class Recorder:
    """An embedding model that answers each text with [its number] after a jittered wait."""

    max_batch = 7

    def __init__(self) -> None:
        self.calls: list[int] = []

    async def embed(self, request: EmbedRequest) -> EmbedResponse:
        self.calls.append(len(request.inputs))
        await asyncio.sleep(0.001 * (len(self.calls) % 3))  # answers finish out of order
        return EmbedResponse("m", [[float(t)] for t in request.inputs], Usage(len(request.inputs), 0))


async def test_batches_are_split_and_reassembled_in_order():
    model = Recorder()
    request = EmbedRequest("m", tuple(str(i) for i in range(50)), origin={"input": "..."})
    answer = await embed_batched(model, request)
    assert [v[0] for v in answer.vectors] == [float(i) for i in range(50)]
    assert model.calls == [7] * 7 + [1] and answer.usage.input_tokens == 50 and answer.raw is None


def test_bad_encoding_is_named():
    with pytest.raises(InvalidRequest) as info:
        parse_request(b'{"model": "m", "input": "x", "encoding_format": "hex"}')
    assert info.value.param == "encoding_format"


def _openai_embedder():
    from llm_router.config.deployment import Deployment
    from llm_router.providers.http import UpstreamClient
    from llm_router.providers.openai.embed import OpenAIEmbeddingModel

    return OpenAIEmbeddingModel(Deployment("e", "openai", "text-embedding-3-small", "http://127.0.0.1:9"),
                                UpstreamClient())


@pytest.mark.parametrize("entry", [to_base64([0.5, -1.0]), [0.5, -1.0]])
def test_a_passed_through_answer_is_checked_but_not_decoded(entry):
    value = {"data": [{"index": 0, "embedding": entry}], "model": "m", "usage": {"prompt_tokens": 3}}
    raw = orjson.dumps(value)
    answer = _openai_embedder().parse(value, 1, raw)
    assert answer.raw == raw and answer.vectors == [] and answer.usage.input_tokens == 3
    assert _openai_embedder().parse(value, 1).vectors == [[0.5, -1.0]]


@pytest.mark.parametrize("data", [
    [{"index": 0, "embedding": "not base64!"}],
    [{"index": 0, "embedding": base64.b64encode(b"\x00\x01\x02").decode()}],  # not whole float32s
    [{"index": 0, "embedding": ["x"]}],
    [{"index": 0, "embedding": to_base64([1.0])}, {"index": 1, "embedding": to_base64([1.0])}],  # 2 for 1
])
def test_a_malformed_answer_is_a_protocol_error_passed_through_or_not(data):
    from llm_router.errors import UpstreamProtocolError

    value = {"data": data, "model": "m"}
    for raw in (orjson.dumps(value), None):
        with pytest.raises(UpstreamProtocolError):
            _openai_embedder().parse(value, 1, raw)
