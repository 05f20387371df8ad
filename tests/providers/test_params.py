"""The parameter policy (providers/params.py): one row each, and what the translators send."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from llm_router.errors import InvalidRequest
from llm_router.messages import ChatRequest, Message, ResponseFormat, Tool, ToolChoice
from llm_router.providers import params
from llm_router.providers.anthropic import translate as anthropic
from llm_router.providers.cohere import translate as cohere
from llm_router.providers.registry import PROVIDERS

BASE = ChatRequest(model="m", messages=(Message("user", "hi"),))
TOOLS = (Tool("a", parameters={"type": "object"}),)
CANONICAL = ("n", "seed", "user", "parallel_tool_calls")


def request_with(name: str, value: Any, **fields: Any) -> ChatRequest:
    request = replace(BASE, **fields)
    if name in CANONICAL:
        return replace(request, **{name: value})
    return replace(request, extra={**request.extra, name: value})


# (provider, parameter, value, outcome, extra request fields)
ROWS: list[tuple[str, str, Any, str, dict[str, Any]]] = [
    ("anthropic", "store", True, "dropped", {}),
    ("anthropic", "metadata", {"tag": "x"}, "dropped", {}),
    ("anthropic", "metadata", {"user_id": "u1"}, "mapped", {}),
    ("anthropic", "safety_identifier", "sid", "mapped", {}),
    ("anthropic", "user", "u", "mapped", {}),
    ("anthropic", "service_tier", "auto", "mapped", {}),
    ("anthropic", "service_tier", "default", "mapped", {}),
    ("anthropic", "service_tier", "flex", "dropped", {}),
    ("anthropic", "prompt_cache_key", "k", "dropped", {}),
    ("anthropic", "verbosity", "low", "dropped", {}),
    ("anthropic", "logprobs", False, "dropped", {}),
    ("anthropic", "logprobs", True, "refused", {}),
    ("anthropic", "top_logprobs", 3, "refused", {}),
    ("anthropic", "reasoning_effort", "medium", "mapped", {}),
    ("anthropic", "reasoning_effort", "none", "mapped", {}),
    ("anthropic", "reasoning_effort", "high", "dropped", {"temperature": 0.2}),
    ("anthropic", "reasoning_effort", "high", "dropped",
     {"tools": TOOLS, "tool_choice": ToolChoice("required")}),
    ("anthropic", "frequency_penalty", 0.5, "refused", {}),
    ("anthropic", "frequency_penalty", 0, "dropped", {}),
    ("anthropic", "presence_penalty", 0.5, "refused", {}),
    ("anthropic", "seed", 7, "refused", {}),
    ("anthropic", "n", 1, "dropped", {}),
    ("anthropic", "n", 2, "refused", {}),
    ("anthropic", "logit_bias", {"50256": -100}, "refused", {}),
    ("anthropic", "parallel_tool_calls", False, "mapped", {"tools": TOOLS}),
    ("anthropic", "parallel_tool_calls", False, "dropped", {}),
    ("anthropic", "modalities", ["text"], "dropped", {}),
    ("anthropic", "audio", {"voice": "x"}, "refused", {}),
    ("anthropic", "something_new", 1, "refused", {}),
    ("cohere", "store", True, "dropped", {}),
    ("cohere", "metadata", {"user_id": "u1"}, "dropped", {}),
    ("cohere", "safety_identifier", "sid", "dropped", {}),
    ("cohere", "user", "u", "dropped", {}),
    ("cohere", "service_tier", "priority", "dropped", {}),
    ("cohere", "prompt_cache_key", "k", "dropped", {}),
    ("cohere", "verbosity", "high", "dropped", {}),
    ("cohere", "logprobs", False, "dropped", {}),
    ("cohere", "logprobs", True, "refused", {}),
    ("cohere", "reasoning_effort", "low", "dropped", {}),
    ("cohere", "reasoning_effort", "low", "mapped", {"model": "command-a-reasoning-08-2025"}),
    ("cohere", "frequency_penalty", 0.5, "mapped", {}),
    ("cohere", "presence_penalty", 0.5, "mapped", {}),
    ("cohere", "seed", 7, "mapped", {}),
    ("cohere", "n", 1, "dropped", {}),
    ("cohere", "n", 3, "refused", {}),
    ("cohere", "logit_bias", {"1": 5}, "refused", {}),
    ("cohere", "parallel_tool_calls", False, "mapped", {"tools": TOOLS}),
    ("cohere", "something_new", 1, "refused", {}),
]


@pytest.mark.parametrize(("provider", "name", "value", "outcome", "fields"), ROWS,
                         ids=[f"{p}-{n}-{v!r}-{o}" for p, n, v, o, _ in ROWS])
def test_policy_row(provider: str, name: str, value: Any, outcome: str, fields: dict[str, Any]) -> None:
    request = request_with(name, value, **fields)
    if outcome == "refused":
        with pytest.raises(InvalidRequest) as caught:
            params.decide(provider, request)
        assert caught.value.param == name and f"'{name}'" in caught.value.message
        assert params.decide(provider, request, drop_params=True).dropped == (name,)
        assert params.dropped_header(provider, request, True) == {params.DROPPED_HEADER: name}
        return
    decision = params.decide(provider, request)
    assert (name in decision.mapped, name in decision.dropped) == (outcome == "mapped", outcome == "dropped")
    header = params.dropped_header(provider, request, False)
    assert header == ({params.DROPPED_HEADER: name} if outcome == "dropped" else {})
    # The translator accepts it too (the same table decides).
    translate = anthropic if provider == "anthropic" else cohere
    translate.request_to_body(request, stream=False)


def test_openai_wire_providers_take_everything() -> None:
    request = request_with("logit_bias", {"1": 1}, n=4, seed=3)
    assert params.decide("openai", request) == params.Decision()
    assert params.dropped_header("openai-compatible", request, False) == {}


def test_header_lists_every_dropped_name_sorted() -> None:
    request = replace(BASE, extra={"store": True, "verbosity": "low", "prompt_cache_key": "k"})
    assert params.dropped_header("anthropic", request, False) == {
        params.DROPPED_HEADER: "prompt_cache_key,store,verbosity"}


def test_registry_rejected_params_agree_with_the_table() -> None:
    for provider, rules in params.TABLE.items():
        refusable = {name for name in CANONICAL if name in rules
                     and rules[name].decide(99, request_with(name, 99)) == "refused"}
        assert PROVIDERS[provider].capabilities.rejected_params == refusable


def test_anthropic_thinking_budget_and_max_tokens() -> None:
    for level, budget in params.ANTHROPIC_THINKING_BUDGET.items():
        body = anthropic.request_to_body(request_with("reasoning_effort", level, max_tokens=500), False)
        assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
        assert body["max_tokens"] == budget + 500
    body = anthropic.request_to_body(request_with("reasoning_effort", "none"), False)
    assert "thinking" not in body and body["max_tokens"] == anthropic.DEFAULT_MAX_TOKENS
    with pytest.raises(InvalidRequest) as caught:
        anthropic.request_to_body(request_with("reasoning_effort", "extreme"), False)
    assert caught.value.param == "reasoning_effort"


def test_anthropic_no_thinking_when_a_tool_result_comes_last() -> None:
    """Anthropic wants the signed thinking block of the tool-use turn back; an OpenAI client
    does not keep it, so that turn goes without thinking (documented limit)."""
    messages = (Message("user", "hi"), Message("assistant", None),
                Message("tool", "42", tool_call_id="c1"))
    request = request_with("reasoning_effort", "high", messages=messages)
    assert "thinking" not in anthropic.request_to_body(request, False)
    assert params.dropped_header("anthropic", request, False) == {params.DROPPED_HEADER: "reasoning_effort"}


def test_anthropic_user_and_service_tier_mapping() -> None:
    request = replace(BASE, user="u", extra={"safety_identifier": "sid", "metadata": {"user_id": "m"},
                                             "service_tier": "default"})
    body = anthropic.request_to_body(request, False)
    assert body["metadata"] == {"user_id": "sid"} and body["service_tier"] == "standard_only"
    assert params.decide("anthropic", request).dropped == ("metadata", "user")
    body = anthropic.request_to_body(replace(BASE, extra={"metadata": {"user_id": "m"}}), False)
    assert body["metadata"] == {"user_id": "m"}


def test_anthropic_parallel_false_disables_parallel_tool_use() -> None:
    body = anthropic.request_to_body(replace(BASE, tools=TOOLS, parallel_tool_calls=False), False)
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_cohere_reasoning_seed_and_penalties() -> None:
    model = "command-a-reasoning-08-2025"
    body = cohere.request_to_body(request_with("reasoning_effort", "high", model=model), False)
    assert body["thinking"] == {"type": "enabled", "token_budget": params.COHERE_THINKING_BUDGET["high"]}
    body = cohere.request_to_body(request_with("reasoning_effort", "none", model=model), False)
    assert body["thinking"] == {"type": "disabled"}
    assert "thinking" not in cohere.request_to_body(request_with("reasoning_effort", "high"), False)
    body = cohere.request_to_body(replace(BASE, seed=3, extra={"frequency_penalty": 0.1,
                                                              "presence_penalty": 0.2, "store": True}), False)
    assert (body["seed"], body["frequency_penalty"], body["presence_penalty"]) == (3, 0.1, 0.2)
    assert "store" not in body


def test_cohere_never_gets_response_format_with_tools() -> None:
    fmt = ResponseFormat("json_schema", {"type": "object", "properties": {"x": {"type": "integer"}}})
    body = cohere.request_to_body(replace(BASE, tools=TOOLS, response_format=fmt), False)
    assert "response_format" not in body and body["tools"]
    assert body["messages"][0]["role"] == "system" and '"x"' in body["messages"][0]["content"]
    body = cohere.request_to_body(replace(BASE, response_format=fmt), False)
    assert body["response_format"]["json_schema"] == fmt.schema


def test_cohere_error_prefix_once() -> None:
    body = {"message": "invalid request: invalid request: response_format is not supported with tools"}
    assert cohere.error_from_body(body) == (None, "invalid request: response_format is not supported with tools")
