"""The reasoning capability table (providers/reasoning.py), pure: which model takes which level
or budget, and that the rows it names are registry rows."""

from __future__ import annotations

import pytest

from llm_router.messages import ChatRequest, Message, Reasoning, ToolChoice
from llm_router.providers import params, reasoning
from llm_router.providers.registry import PROVIDERS

ASK = (Message("user", "hi"),)


def request(model: str, effort: str, budget: int | None = None, **fields: object) -> ChatRequest:
    return ChatRequest(model, ASK, reasoning=Reasoning(effort, budget), **fields)  # type: ignore[arg-type]


def test_every_row_the_table_names_is_a_registry_row_of_the_openai_wire() -> None:
    for row in reasoning.OPENAI_WIRE_RULES:
        assert PROVIDERS[row].provider in ("openai", "openai-compatible", "azure"), row


@pytest.mark.parametrize(("model", "levels"), [
    ("o1", ("low", "medium", "high")), ("o1-mini", ()), ("o3-mini-2025-01-31", ("low", "medium", "high")),
    ("o4-mini", ("low", "medium", "high")), ("gpt-5", ("minimal", "low", "medium", "high")),
    ("gpt-5-mini", ("minimal", "low", "medium", "high")), ("gpt-5-chat-latest", ()),
    ("gpt-5-pro", ("high",)), ("gpt-5.1", ("none", "low", "medium", "high")),
    ("gpt-5.2", ("none", "low", "medium", "high", "xhigh")), ("gpt-4o", ()), ("gpt-4.1-mini", ()),
    ("openai/gpt-oss-120b", ("low", "medium", "high")),
])
def test_openai_levels(model: str, levels: tuple[str, ...]) -> None:
    assert reasoning.openai_levels(model) == levels


@pytest.mark.parametrize(("effort", "levels", "expected"), [
    ("minimal", ("low", "medium", "high"), "low"), ("xhigh", ("low", "medium", "high"), "high"),
    ("medium", ("low", "high"), "high"), ("high", ("high",), "high"), ("none", ("low", "high"), None),
    ("none", ("none", "low"), "none"), ("low", (), None),
])
def test_a_missing_level_moves_to_the_nearest(effort: str, levels: tuple[str, ...], expected: str | None) -> None:
    assert reasoning.nearest(effort, levels) == expected


@pytest.mark.parametrize(("row", "model", "effort", "budget", "expected"), [
    ("openrouter", "anthropic/claude-sonnet-4.5", "medium", 5000, {"reasoning": {"max_tokens": 5000}}),
    ("openrouter", "openai/o3", "high", None, {"reasoning": {"effort": "high"}}),
    ("openrouter", "openai/o3", "none", None, {"reasoning": {"effort": "none"}}),
    ("xai", "grok-3-mini", "medium", 5000, {"reasoning_effort": "high"}),
    ("xai", "grok-4", "high", 20000, {}),      # always reasons; refuses reasoning_effort
    ("xai", "grok-4", "none", None, None),     # cannot be turned off
    ("groq", "openai/gpt-oss-20b", "high", 20000, {"reasoning_effort": "high"}),
    ("groq", "llama-3.3-70b-versatile", "high", 20000, None),
    ("ollama", "llama3.2", "none", None, {}),  # does not reason: disabled holds
    ("azure", "o3-mini", "low", 1024, {"reasoning_effort": "low"}),
])
def test_openai_wire_rows(row: str, model: str, effort: str, budget: int | None, expected: object) -> None:
    assert reasoning.openai_fields(row, request(model, effort, budget)) == expected


def test_the_openai_surface_reasoning_effort_is_not_added_twice() -> None:
    plain = ChatRequest("o3", ASK, extra={"reasoning_effort": "high"})
    assert reasoning.openai_fields("openai", plain) == {}  # it passes through as the client sent it


def test_anthropic_family_keeps_the_exact_budget_and_the_clients_max_tokens() -> None:
    exact = request("claude-sonnet-4-5", "medium", 3000, max_tokens=8000)
    assert params.anthropic_thinking_budget(exact) == 3000
    assert params.thinking_max_tokens(exact, 3000, 4096) == 8000
    level_only = ChatRequest("claude-sonnet-4-5", ASK, max_tokens=1000, extra={"reasoning_effort": "low"})
    assert params.anthropic_thinking_budget(level_only) == params.ANTHROPIC_THINKING_BUDGET["low"]
    assert params.thinking_max_tokens(level_only, 2048, 4096) == 3048  # an OpenAI cap is for the answer
    forced = request("claude-sonnet-4-5", "medium", 3000, tool_choice=ToolChoice("required"))
    assert params.anthropic_thinking_budget(forced) is None
    assert reasoning.dropped("vertex-anthropic", "vertex-anthropic", forced)


@pytest.mark.parametrize(("budget", "level"), [(1024, "low"), (2048, "low"), (2049, "medium"),
                                              (8192, "medium"), (8193, "high"), (31999, "high")])
def test_budget_levels(budget: int, level: str) -> None:
    assert reasoning.level_for_budget(budget) == level


def test_local_and_bedrock_non_claude_lose_it_but_not_when_off() -> None:
    assert reasoning.dropped("local", "local", request("smollm2", "high", 5000))
    assert not reasoning.dropped("local", "local", request("smollm2", "none"))
    assert reasoning.dropped("bedrock", "bedrock", request("amazon.nova-pro-v1:0", "high", 5000))
    assert not reasoning.dropped("anthropic", "anthropic", request("claude-x", "high", 5000))


def test_claude_translated_for_vertex_keeps_the_exact_budget_and_max_tokens() -> None:
    from llm_router.providers.anthropic import translate

    body = translate.request_to_body(request("claude-sonnet-4-5", "medium", 3000, max_tokens=8000), stream=False)
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 3000} and body["max_tokens"] == 8000
    off = translate.request_to_body(request("claude-sonnet-4-5", "none", max_tokens=8000), stream=False)
    assert "thinking" not in off and off["max_tokens"] == 8000


def test_a_level_without_a_budget_gets_the_levels_budget_on_cohere_and_gemini() -> None:
    assert reasoning.cohere_thinking("command-a-reasoning-08-2025", Reasoning("high")) == {
        "type": "enabled", "token_budget": params.ANTHROPIC_THINKING_BUDGET["high"]}
    assert reasoning.gemini_thinking("gemini-2.5-pro", Reasoning("low")) == {
        "thinkingBudget": reasoning.GEMINI_BUDGET["low"], "includeThoughts": True}
    assert reasoning.gemini_thinking("gemini-3-pro-preview", Reasoning("medium")) == {
        "thinkingLevel": "HIGH", "includeThoughts": True}  # Pro has no MEDIUM
