"""The cache key, proven over generated requests (Hypothesis): key order and whitespace of
the client's body never change it; any one other difference, in any field of the surface's
schema, the tenant, the target, the surface or streaming, always does."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers

from llm_router.api.anthropic_decode import decode
from llm_router.api.anthropic_schema import parse_messages
from llm_router.api.openai_schema import parse_request, to_canonical
from llm_router.cache.key import cache_key
from llm_router.messages import ChatRequest, WireBody

TARGET = ["cached", [["openai-c", "openai", "gpt-4.1-mini"]]]
text = st.text(min_size=1, max_size=12)
names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
schema = st.fixed_dictionaries({"type": st.just("object"), "properties": st.dictionaries(
    names, st.fixed_dictionaries({"type": st.sampled_from(["string", "integer", "boolean"])}), max_size=3)})


def openai_tool(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": "d", "parameters": {"type": "object"}}}


OPENAI_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "temperature": st.sampled_from([0, 0.25, 0.5, 1, 1.5]),
    "top_p": st.sampled_from([0.1, 0.5, 0.9, 1]),
    "max_tokens": st.integers(1, 4096),
    "max_completion_tokens": st.integers(1, 4096),
    "stop": st.one_of(text, st.lists(text, min_size=1, max_size=4)),
    "seed": st.integers(0, 2**31),
    "user": text,
    "n": st.integers(1, 4),
    "tools": st.lists(names.map(openai_tool), min_size=1, max_size=3),
    "tool_choice": st.one_of(st.sampled_from(["auto", "none", "required"]),
                             names.map(lambda n: {"type": "function", "function": {"name": n}})),
    "parallel_tool_calls": st.booleans(),
    "response_format": st.one_of(
        st.just({"type": "json_object"}), st.just({"type": "text"}),
        schema.map(lambda s: {"type": "json_schema", "json_schema": {"name": "r", "schema": s}})),
    # provider-specific fields the canonical request does not model
    "logprobs": st.booleans(), "top_k": st.integers(1, 100), "presence_penalty": st.sampled_from([-1, 0.5, 2]),
    "metadata": st.dictionaries(names, text, min_size=1, max_size=2),
    "reasoning_effort": st.sampled_from(["low", "medium", "high"]),
    "logit_bias": st.dictionaries(st.integers(0, 50000).map(str), st.integers(-100, 100), min_size=1, max_size=2),
}
image = st.sampled_from(["https://x.test/a.png", "data:image/png;base64,AAAA"]).map(
    lambda u: {"type": "image_url", "image_url": {"url": u}})
parts = st.lists(st.one_of(text.map(lambda t: {"type": "text", "text": t}), image), min_size=1, max_size=3)
message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant"]), "content": st.one_of(text, parts)},
    optional={"name": names})


@st.composite
def openai_body(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "cached", "messages": draw(st.lists(message, min_size=1, max_size=4))}
    for name in draw(st.sets(st.sampled_from(sorted(OPENAI_FIELDS)), max_size=6)):
        body[name] = draw(OPENAI_FIELDS[name])
    if draw(st.booleans()):
        body["stream"] = True
        if draw(st.booleans()):
            body["stream_options"] = {"include_usage": draw(st.booleans())}
    return body


def shuffled(value: Any, rng: random.Random) -> Any:
    """The same JSON value with every object's keys in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


def spaced(value: Any, rng: random.Random) -> bytes:
    """``value`` serialised with arbitrary (valid) whitespace."""
    return json.dumps(value, indent=rng.choice([None, 0, 1, 4, "\t"]),
                      separators=rng.choice([(",", ":"), (", ", ": "), (" ,  ", " :\n ")])).encode()


def openai_key(raw: bytes, tenant: str = "key:a", target: Any = TARGET, surface: str = "openai") -> str:
    body, data = parse_request(raw)
    request = to_canonical(body, WireBody("openai", data))
    return cache_key(request, surface=surface, tenant=tenant, target=target, streamed=body.stream)


@settings(max_examples=300, deadline=None)
@given(body=openai_body(), seed=st.integers())
def test_key_order_and_whitespace_do_not_matter(body, seed):
    rng = random.Random(seed)
    assert openai_key(spaced(body, rng)) == openai_key(spaced(shuffled(body, rng), rng))


@st.composite
def mutation(draw: st.DrawFn, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with exactly one thing changed (a field set, changed or removed, or one message)."""
    changed = json.loads(json.dumps(body))
    where = draw(st.sampled_from(["field", "message", "add_message", "drop_field"]))
    if where == "drop_field" and len(body) > 2:
        changed.pop(draw(st.sampled_from(sorted(k for k in body if k not in ("model", "messages")))))
    elif where == "message":
        index = draw(st.integers(0, len(body["messages"]) - 1))
        part = draw(st.sampled_from(["role", "content", "name"]))
        changed["messages"][index][part] = draw(message).get(part, "someone")
    elif where == "add_message":
        changed["messages"].insert(draw(st.integers(0, len(body["messages"]))), draw(message))
    else:
        name = draw(st.sampled_from(sorted(OPENAI_FIELDS)))
        changed[name] = draw(OPENAI_FIELDS[name])
    if changed.get("stream_options") and not changed.get("stream"):
        changed.pop("stream_options")
    return changed


def same_value(a: Any, b: Any) -> bool:
    """Equal as JSON numbers see it (0 and 0.0 are one number)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) or a == b


@settings(max_examples=500, deadline=None)
@given(data=st.data(), body=openai_body())
def test_any_one_difference_changes_the_key(data, body):
    changed = data.draw(mutation(body))
    if same_value(changed, body):
        return  # the draw changed nothing
    assert openai_key(spaced(changed, random.Random(1))) != openai_key(spaced(body, random.Random(2)))


@settings(max_examples=100, deadline=None)
@given(body=openai_body())
def test_the_tenant_target_surface_and_streaming_are_in_the_key(body):
    raw = spaced(body, random.Random(0))
    base = openai_key(raw)
    assert openai_key(raw, tenant="key:b") != base
    assert openai_key(raw, tenant="team:t") != base
    assert openai_key(raw, tenant="gateway") != base
    assert openai_key(raw, target=["other", TARGET[1]]) != base
    assert openai_key(raw, target=[TARGET[0], [["openai-c", "openai", "gpt-4.1"]]]) != base
    assert openai_key(raw, surface="chat") != base
    parsed, data = parse_request(raw)
    request = to_canonical(parsed, WireBody("openai", data))
    flipped = cache_key(request, surface="openai", tenant="key:a", target=TARGET, streamed=not parsed.stream)
    assert flipped != base


def test_the_model_name_counts_as_resolved():
    """Two names for the same target share entries; the body's own ``model`` is not the key."""
    one = {"model": "cached", "messages": [{"role": "user", "content": "x"}], "temperature": 0}
    assert openai_key(json.dumps(one).encode()) == openai_key(json.dumps({**one, "model": "alias"}).encode())
    assert openai_key(json.dumps({**one, "temperature": 0.0}).encode()) == openai_key(json.dumps(one).encode())
    assert openai_key(json.dumps({**one, "seed": None}).encode()) == openai_key(json.dumps(one).encode())


ANTHROPIC_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "max_tokens": st.integers(1, 4096),
    "system": st.one_of(text, st.lists(text.map(lambda t: {"type": "text", "text": t}), min_size=1, max_size=2)),
    "temperature": st.sampled_from([0, 0.3, 1]),
    "top_p": st.sampled_from([0.2, 0.9]),
    "top_k": st.integers(1, 50),
    "stop_sequences": st.lists(text, min_size=1, max_size=3),
    "metadata": text.map(lambda t: {"user_id": t}),
    "tools": st.lists(names.map(lambda n: {"name": n, "input_schema": {"type": "object"}}), min_size=1, max_size=2),
    "tool_choice": st.sampled_from([{"type": "auto"}, {"type": "any"}, {"type": "none"}]),
    "thinking": st.integers(1024, 4096).map(lambda b: {"type": "enabled", "budget_tokens": b}),
    "service_tier": st.sampled_from(["auto", "standard_only"]),
}
anthropic_message = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": text})


@st.composite
def anthropic_body(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "claude", "max_tokens": 100,
                            "messages": [{"role": "user", "content": draw(text)}]}
    for name in draw(st.sets(st.sampled_from(sorted(ANTHROPIC_FIELDS)), max_size=5)):
        body[name] = draw(ANTHROPIC_FIELDS[name])
    return body


def anthropic_key(raw: bytes, headers: dict[str, str] | None = None) -> str:
    body = parse_messages(raw)
    request: ChatRequest = decode(body, raw, Headers(headers or {})).request
    return cache_key(request, surface="anthropic", tenant="key:a", target=TARGET, streamed=body.stream)


@settings(max_examples=200, deadline=None)
@given(body=anthropic_body(), seed=st.integers(), data=st.data())
def test_the_anthropic_surface_keys_alike(body, seed, data):
    rng = random.Random(seed)
    key = anthropic_key(spaced(body, rng))
    assert anthropic_key(spaced(shuffled(body, rng), rng)) == key
    name = data.draw(st.sampled_from(sorted(ANTHROPIC_FIELDS)))
    changed = {**body, name: data.draw(ANTHROPIC_FIELDS[name])}
    if not same_value(changed, body):
        assert anthropic_key(spaced(changed, rng)) != key
    assert anthropic_key(spaced(body, rng), {"anthropic-beta": "tools-2024"}) != key


chat_fields: dict[str, st.SearchStrategy[Any]] = {
    "message": text, "system": text, "temperature": st.sampled_from([0, 0.5, 1]),
    "max_tokens": st.integers(1, 4096), "stream": st.booleans(),
}


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_the_chat_surface_keys_every_field_of_its_schema(data):
    from llm_router.api.chat import ChatBody

    body = {"message": data.draw(text), "chat_model_name": "cached",
            **data.draw(st.fixed_dictionaries({}, optional=chat_fields))}

    def key(value: dict[str, Any]) -> str:
        parsed = ChatBody.model_validate(value)
        return cache_key(parsed.to_request(), surface="chat", tenant="gateway", target=TARGET,
                         streamed=parsed.stream)

    name = data.draw(st.sampled_from(sorted(chat_fields)))
    changed = {**body, name: data.draw(chat_fields[name])}
    if ChatBody.model_validate(changed) != ChatBody.model_validate(body):  # not a default restated
        assert key(changed) != key(body)
    assert key({**body, "unknown": 1}) == key(body)  # ignored by the surface: the same request
