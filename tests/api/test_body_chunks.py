"""A big body's capped list is validated in pieces (``api/body.py``): the same model, the same
decoded object (key order too) and the same first error as one whole validation."""

from __future__ import annotations

import orjson
import pytest

from llm_router.api.anthropic_schema import MessagesIn, read_messages
from llm_router.api.body import BIG_BYTES, CHUNK_ITEMS, parse_body
from llm_router.api.embeddings_schema import read_request as read_embeddings
from llm_router.errors import InvalidRequest
from llm_router.messages import WireBody
from llm_router.providers.anthropic.passthrough import upstream_body


def _messages(n: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i in range(n):
        if i % 3 == 0:
            out.append({"role": "user", "content": f"question {i} " + "x" * 200})
        elif i % 3 == 1:
            out.append({"role": "assistant", "content": [
                {"type": "text", "text": f"answer {i}"},
                {"type": "tool_use", "id": f"toolu_{i}", "name": "look", "input": {"q": i, "deep": [1, {"a": None}]}}]})
        else:
            out.append({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": f"toolu_{i - 1}", "content": "found", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "go on", "extra_field": True}]})
    return out


def _body(messages: list[dict[str, object]], **extra: object) -> bytes:
    raw = orjson.dumps({"system": "be brief", "model": "claude-x", "messages": messages, "max_tokens": 9,
                        "metadata": {"user_id": "u"}, **extra})
    assert len(raw) >= BIG_BYTES  # the chunked path
    return raw


def _error(read, raw: bytes) -> str:
    with pytest.raises(InvalidRequest) as caught:
        read(raw)
    return caught.value.message


def test_pieces_give_the_whole_validation_s_model_and_object():
    raw = _body(_messages(5 * CHUNK_ITEMS + 7))
    body, data = read_messages(raw)
    whole = orjson.loads(raw)
    assert body == MessagesIn.model_validate(whole)
    assert data == whole and list(data) == list(whole)
    assert len(body.messages) == 5 * CHUNK_ITEMS + 7


@pytest.mark.parametrize("index", [3, CHUNK_ITEMS + 1, 4 * CHUNK_ITEMS + 2])
def test_a_bad_item_in_any_piece_is_named_as_the_whole_validation_names_it(index):
    messages = _messages(5 * CHUNK_ITEMS)
    messages[index] = {"role": "robot", "content": "x"}
    raw = _body(messages)
    message = _error(read_messages, raw)
    assert f"'messages.{index}.role'" in message
    assert message == _error(lambda r: parse_body(MessagesIn, r, 400, "field"), raw)


def test_a_bad_field_beside_the_list_and_a_huge_integer_in_a_late_piece():
    assert "'max_tokens'" in _error(read_messages, _body(_messages(3 * CHUNK_ITEMS), max_tokens=0))
    messages = _messages(3 * CHUNK_ITEMS)
    messages[2 * CHUNK_ITEMS + 1] = {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t", "content": "x", "n": 12345}]}
    raw = _body(messages).replace(b'"n":12345', b'"n":' + b"9" * 30)
    assert "integers beyond 64 bits" in _error(read_messages, raw)


def test_a_union_list_is_validated_whole_and_still_capped():
    raw = orjson.dumps({"model": "m", "input": ["text " * 60] * 2048})
    assert len(raw) >= BIG_BYTES
    body, data = read_embeddings(raw)
    assert len(data["input"]) == 2048 and body.input == data["input"]
    too_many = orjson.dumps({"model": "m", "input": ["x"] * 2049})
    assert "at most 2048" in _error(read_embeddings, too_many)


def test_a_big_pass_through_body_gets_its_model_replaced_in_its_bytes():
    raw = _body(_messages(4 * CHUNK_ITEMS))
    origin = WireBody("anthropic", orjson.loads(raw), raw=raw)
    sent = upstream_body(origin, "claude-upstream")
    assert orjson.loads(sent) == {**orjson.loads(raw), "model": "claude-upstream"}
    assert list(orjson.loads(sent)) == list(orjson.loads(raw))  # the model keeps its place
    assert upstream_body(WireBody("anthropic", orjson.loads(raw), raw=raw), "claude-x") is raw
