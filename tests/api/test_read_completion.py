"""``read_completion`` (the /v1/chat/completions body's reading, with its plain fast path) gives
what ``parse_request`` + ``to_canonical`` give: the same canonical request, model and stream flag,
or the same 400."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_router.api.openai_schema import _plain, parse_request, read_completion, to_canonical
from llm_router.errors import InvalidRequest
from llm_router.messages import WireBody

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 300), st.floats(-1, 3, allow_nan=False),
                    st.sampled_from(["", "x", "user", "developer", "tool", "m" * 257, "gpt-4.1"]),
                    st.just(2**63), st.just([]), st.just({}))
roles = st.one_of(st.sampled_from(["system", "developer", "user", "assistant", "tool", "other"]), scalars)
contents = st.one_of(st.text(max_size=8), st.none(), scalars,
                     st.just([{"type": "text", "text": "hi"}]), st.just([{"type": "image_url"}]))


@st.composite
def messages(draw: st.DrawFn) -> Any:
    message: dict[str, Any] = {}
    if draw(st.integers(0, 10)):
        message["role"] = draw(roles)
    if draw(st.booleans()):
        message["content"] = draw(contents)
    if draw(st.integers(0, 4)) == 0:
        message["name"] = draw(st.one_of(st.text(max_size=3), scalars))
    if draw(st.integers(0, 8)) == 0:
        message[draw(st.sampled_from(["tool_call_id", "tool_calls", "extra"]))] = draw(scalars)
    if draw(st.integers(0, 20)) == 0:
        return draw(scalars)
    return message


FIELDS = {
    "stream": st.one_of(st.booleans(), scalars),
    "temperature": st.one_of(st.floats(-0.5, 2.5, allow_nan=False), st.integers(-1, 3), scalars),
    "top_p": st.one_of(st.floats(-0.5, 1.5, allow_nan=False), st.integers(-1, 2), scalars),
    "max_tokens": st.one_of(st.integers(-1, 10**6), scalars),
    "max_completion_tokens": st.one_of(st.integers(-1, 10**6), scalars),
    "user": st.one_of(st.text(max_size=4), scalars),
    "seed": st.integers(-5, 5),
    "stop": st.one_of(st.text(max_size=3), st.lists(st.text(max_size=2), max_size=5)),
    "store": st.booleans(),
    "api_key": st.just("sk-x"),
    "stream_options": st.one_of(st.just({"include_usage": True}), st.just({"include_usage": 1}),
                                st.just({"include_usage": False, "other": 1}), scalars),
    "n": st.integers(0, 3),
}


@st.composite
def bodies(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 30)) == 0:
        return draw(scalars)
    body: dict[str, Any] = {}
    if draw(st.integers(0, 10)):
        body["model"] = draw(st.one_of(st.sampled_from(["openai", "m" * 256]), scalars))
    if draw(st.integers(0, 10)):
        body["messages"] = draw(st.one_of(st.lists(messages(), max_size=4), scalars))
    for name in draw(st.lists(st.sampled_from(sorted(FIELDS)), unique=True, max_size=4)):
        body[name] = draw(FIELDS[name])
    return body


PLAIN_FIELDS = {
    "stream": st.booleans(), "temperature": st.one_of(st.floats(0, 2), st.integers(0, 2)),
    "top_p": st.one_of(st.floats(0, 1), st.integers(0, 1)), "max_tokens": st.integers(1, 2**63 - 1),
    "max_completion_tokens": st.integers(1, 10**6), "user": st.one_of(st.text(max_size=4), st.none()),
    "stream_options": st.one_of(st.none(), st.fixed_dictionaries({}, optional={"include_usage": st.booleans()})),
}


@st.composite
def plain_bodies(draw: st.DrawFn) -> Any:
    """Bodies of the fast path's shape, one in three with one thing changed."""
    turns = [{"role": draw(st.sampled_from(["system", "developer", "user", "assistant"])),
              "content": draw(st.one_of(st.text(max_size=5), st.none()))}
             for _ in range(draw(st.integers(1, 3)))]
    for turn in turns:
        if draw(st.integers(0, 3)) == 0:
            turn["name"] = draw(st.one_of(st.text(max_size=3), st.none()))
    body: dict[str, Any] = {"model": draw(st.sampled_from(["openai", "m" * 256, "é"])), "messages": turns}
    for name in draw(st.lists(st.sampled_from(sorted(PLAIN_FIELDS)), unique=True)):
        body[name] = draw(PLAIN_FIELDS[name])
    if "stream_options" in body and draw(st.integers(0, 3)):
        body["stream"] = True
    if draw(st.integers(0, 2)) == 0:
        if draw(st.booleans()):
            body[draw(st.sampled_from([*sorted(FIELDS), "model", "messages"]))] = draw(scalars)
        else:
            turn = draw(st.sampled_from(turns))
            turn[draw(st.sampled_from(["role", "content", "name", "tool_call_id"]))] = draw(scalars)
    return body


def _reference(raw: bytes) -> Any:
    try:
        body, data = parse_request(raw)
        return to_canonical(body, WireBody("openai", data)), body.model, body.stream
    except InvalidRequest as exc:
        return ("error", str(exc), exc.param, exc.status, exc.code)


def _fast(raw: bytes) -> Any:
    try:
        return read_completion(raw)
    except InvalidRequest as exc:
        return ("error", str(exc), exc.param, exc.status, exc.code)


@settings(max_examples=1000, deadline=None)
@given(body=st.one_of(bodies(), plain_bodies()))
def test_read_completion_equals_parse_then_canonical(body: Any) -> None:
    raw = orjson.dumps(body)
    fast, reference = _fast(raw), _reference(raw)
    assert fast == reference
    assert repr(fast) == repr(reference)  # 1.0 is not 1 for an upstream body


@pytest.mark.parametrize("raw", [
    b'{"model":"openai","messages":[{"role":"user","content":"hi"}]}',
    b'{"model":"m","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi",'
    b'"name":"ann"},{"role":"assistant","content":null}],"stream":true,"temperature":1,"top_p":0.5,'
    b'"max_tokens":7,"max_completion_tokens":9,"user":"u"}',
    b'{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":123456789012345678901234}',
    b'{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":1e400}',
    b'{"model":"m","messages":[{"role":"user","content":"hi"}]', b"[1]", b"",
])
def test_known_bodies(raw: bytes) -> None:
    assert repr(_fast(raw)) == repr(_reference(raw))


def test_the_plain_shape_takes_the_fast_path() -> None:
    """The common body (the openai SDK's plain chat call) is read without pydantic."""
    body = {"model": "openai", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}],
            "temperature": 0.2, "max_tokens": 100, "stream": False}
    request = _plain(body)
    assert request is not None and request.origin is not None and request.origin.body is body
    assert _plain({**body, "seed": 1}) is None and _plain({**body, "temperature": True}) is None
