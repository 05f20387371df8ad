"""The canonical types' fast construction (``messages._fast_init``, ``ChatRequest.with_model``)
gives exactly what the dataclass-generated code gives."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_router import messages
from llm_router.messages import ChatRequest, Message, Reasoning, TextPart, WireBody

CLASSES = [messages.TextPart, messages.ImagePart, messages.ToolCall, messages.Message, messages.Tool,
           messages.ToolChoice, messages.ResponseFormat, messages.WireBody, messages.Reasoning,
           messages.ChatRequest, messages.Usage, messages.ChatResponse, messages.ToolCallDelta,
           messages.ChatChunk]

values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5),
                   st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                   st.tuples(st.integers()))


def _state(obj: Any) -> list[tuple[str, Any, type]]:
    return [(f.name, getattr(obj, f.name), type(getattr(obj, f.name))) for f in dataclasses.fields(obj)]


def _reference(cls: type, *args: Any, **kwargs: Any) -> Any:
    obj: Any = object.__new__(cls)
    cls.__dataclass_init__(obj, *args, **kwargs)  # type: ignore[attr-defined]
    return obj


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_init_equals_the_dataclass_init(cls: type, data: st.DataObject) -> None:
    fields = dataclasses.fields(cls)
    required = [f for f in fields if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    optional = [f for f in fields if f not in required]
    args = [data.draw(values) for _ in required]
    chosen = data.draw(st.lists(st.sampled_from(optional), unique=True)) if optional else []
    kwargs = {f.name: data.draw(values) for f in chosen}
    fast, reference = cls(*args, **kwargs), _reference(cls, *args, **kwargs)
    assert _state(fast) == _state(reference)
    assert fast == reference
    positional = [*args, *(kwargs.get(f.name, getattr(reference, f.name)) for f in optional)]
    assert _state(cls(*positional)) == _state(reference)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_signature_and_errors_are_the_dataclass_ones(cls: type) -> None:
    fast = inspect.signature(cls.__dict__["__init__"])
    reference = inspect.signature(cls.__dataclass_init__)  # type: ignore[attr-defined]
    assert [(p.name, p.kind) for p in fast.parameters.values()] == [
        (p.name, p.kind) for p in reference.parameters.values()]
    with pytest.raises(TypeError):
        cls(*range(len(fast.parameters) + 1))
    with pytest.raises(TypeError):
        cls(no_such_field=1)


def test_default_factories_give_a_fresh_object_each_time() -> None:
    a, b = ChatRequest("m", ()), ChatRequest("m", ())
    assert a.extra == {} and a.extra is not b.extra
    assert WireBody("openai", {}).headers is not WireBody("openai", {}).headers
    given_extra = {"store": True}
    assert ChatRequest("m", (), extra=given_extra).extra is given_extra


def test_still_frozen() -> None:
    request = ChatRequest("m", (Message("user", (TextPart("hi"),)),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.model = "other"  # type: ignore[misc]
    assert hash(Reasoning("low")) == hash(Reasoning("low"))


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_with_model_equals_replace(data: st.DataObject) -> None:
    names = [f.name for f in dataclasses.fields(ChatRequest)]
    kwargs = {name: data.draw(values) for name in data.draw(st.lists(st.sampled_from(names[2:]), unique=True))}
    request = ChatRequest(data.draw(st.text(max_size=3)), (), **kwargs)
    model = data.draw(st.text(max_size=3))
    copy = request.with_model(model)
    assert _state(copy) == _state(dataclasses.replace(request, model=model))
    assert all(getattr(copy, n) is getattr(request, n) for n in names if n != "model")
    assert (copy is request) == (model == request.model)
