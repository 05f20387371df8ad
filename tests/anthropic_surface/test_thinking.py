"""Anthropic ``thinking`` through the Messages surface to every upstream that has a reasoning
setting: the body each fake received carries the exact budget where the upstream takes tokens
and the level where it takes levels; a model without one gets nothing and the answer lists
``thinking`` in ``x-llm-router-dropped-params``; reasoning an upstream returns comes back as a
``thinking`` block (``thinking_delta`` events in their own block) — streamed and not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from llm_router.providers.params import DROPPED_HEADER
from tests.anthropic_surface.conftest import sdk
from tests.anthropic_surface.reasoning_fakes import BEDROCK_SIGNATURE, ReasoningBedrock, ReasoningOpenAI
from tests.conftest import TEST_TIMEOUTS
from tests.fakes import FakeCohere, Reply
from tests.fakes.gemini import FakeGemini, GeminiReply

KEYS = {"openai": "sk-canary-think-openai-1", "deepseek": "sk-canary-think-deepseek-2",
        "gemini": "AIza-canary-think-gemini-3", "bedrock": "ABSK-canary-think-bedrock-4",
        "cohere": "co-canary-think-cohere-5"}
QUESTION = [{"role": "user", "content": "Why is the sky blue?"}]
STREAMED = pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
CLAUDE_ON_BEDROCK = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    started: dict[str, Any] = {
        "openai": ReasoningOpenAI(api_key=KEYS["openai"]).start(),
        "deepseek": ReasoningOpenAI(api_key=KEYS["deepseek"]).start(),
        "gemini": FakeGemini(api_key=KEYS["gemini"]).start(),
        "bedrock": ReasoningBedrock(region="eu-west-3", api_key=KEYS["bedrock"]).start(),
        "cohere": FakeCohere(api_key=KEYS["cohere"]).start(),
    }
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture
def fakes_env(servers: dict[str, Any]) -> dict[str, str]:
    for server in servers.values():
        server.reset()
    env = dict(TEST_TIMEOUTS)
    for name in ("openai", "deepseek", "cohere", "bedrock"):
        env[f"{name.upper()}_API_KEY"] = KEYS[name]
        env[f"{name.upper()}_BASE_URL"] = servers[name].base_url
    env["GEMINI_API_KEY"] = KEYS["gemini"]
    env["GEMINI_BASE_URL"] = f"http://127.0.0.1:{servers['gemini'].port}/v1beta"
    return env


async def ask(env: dict[str, str], model: str, thinking: dict[str, Any], stream: bool,
              **extra: Any) -> tuple[anthropic.types.Message, list[str], list[tuple[str, int, str]]]:
    """The message, the dropped names, and (streamed) each content event as (type, index, kind)."""
    kwargs: dict[str, Any] = {"model": model, "max_tokens": 8000, "thinking": thinking, "messages": QUESTION}
    if extra:
        kwargs["extra_body"] = extra
    events: list[tuple[str, int, str]] = []
    async with sdk(env) as client:
        if stream:
            async with client.messages.stream(**kwargs) as live:
                async for event in live:
                    if event.type == "content_block_start":
                        events.append((event.type, event.index, event.content_block.type))
                    elif event.type == "content_block_delta":
                        events.append((event.type, event.index, event.delta.type))
                message = await live.get_final_message()
                headers = live.response.headers
        else:
            raw = await client.messages.with_raw_response.create(**kwargs)
            message, headers = await raw.parse(), raw.headers
    return message, [n for n in headers.get(DROPPED_HEADER, "").split(",") if n], events


def enabled(budget: int) -> dict[str, Any]:
    return {"type": "enabled", "budget_tokens": budget}


def sent(server: Any) -> dict[str, Any]:
    body: dict[str, Any] = server.requests[-1].body
    return body


def thinking_of(message: anthropic.types.Message) -> list[str]:
    return [block.thinking for block in message.content if block.type == "thinking"]


# ----------------------------------------------------------------- OpenAI


@STREAMED
@pytest.mark.parametrize(("budget", "level"), [(1024, "low"), (2048, "low"), (3000, "medium"),
                                              (8192, "medium"), (20000, "high")])
async def test_openai_reasoning_model_gets_the_level_of_the_budget(fakes_env, servers, stream, budget, level):
    servers["openai"].enqueue(Reply(text="Rayleigh scattering."))
    message, dropped, _ = await ask(fakes_env, "openai/o3", enabled(budget), stream)
    body = sent(servers["openai"])
    assert body["model"] == "o3" and body["reasoning_effort"] == level
    assert "thinking" not in dropped and "thinking" not in body
    assert message.content[-1].text == "Rayleigh scattering."  # type: ignore[union-attr]


@STREAMED
async def test_a_model_without_reasoning_gets_none_and_the_header_lists_thinking(fakes_env, servers, stream):
    servers["openai"].enqueue(Reply(text="Scattering."))  # the fake refuses reasoning_effort on gpt-4o
    message, dropped, _ = await ask(fakes_env, "openai/gpt-4o", enabled(4000), stream)
    assert "reasoning_effort" not in sent(servers["openai"])
    assert "thinking" in dropped
    assert message.content[0].text == "Scattering."  # type: ignore[union-attr]


@STREAMED
@pytest.mark.parametrize(("model", "effort", "expected"), [
    ("gpt-5.2", "high", "high"), ("gpt-5.2", "max", "xhigh"), ("gpt-5.2", None, "medium"),
    ("o4-mini", "max", "high"),  # o-series has no xhigh: the nearest level
])
async def test_adaptive_thinking_takes_output_config_effort(fakes_env, servers, stream, model, effort, expected):
    servers["openai"].enqueue(Reply(text="Blue."))
    extra = {"output_config": {"effort": effort}} if effort else {}
    _, dropped, _ = await ask(fakes_env, f"openai/{model}", {"type": "adaptive"}, stream, **extra)
    assert sent(servers["openai"])["reasoning_effort"] == expected
    assert "thinking" not in dropped and "output_config.effort" not in dropped


@pytest.mark.parametrize(("model", "effort", "listed"), [
    ("gpt-5.1", "none", False),  # gpt-5.1 can be told not to reason
    ("o3", None, True),          # o3 cannot: disabled is lost
    ("gpt-4o", None, False),     # gpt-4o does not reason: disabled holds as it is
])
async def test_disabled_thinking(fakes_env, servers, model, effort, listed):
    servers["openai"].enqueue(Reply(text="Blue."))
    _, dropped, _ = await ask(fakes_env, f"openai/{model}", {"type": "disabled"}, False)
    assert sent(servers["openai"]).get("reasoning_effort") == effort
    assert ("thinking" in dropped) is listed


# ----------------------------------------------------------------- DeepSeek (reasoning_content back)


@STREAMED
async def test_deepseek_reasoning_content_comes_back_as_a_thinking_block(fakes_env, servers, stream):
    servers["deepseek"].enqueue(Reply(text="Shorter wavelengths scatter more.",
                                      reasoning="Recall Rayleigh: intensity goes as 1/lambda^4."))
    message, dropped, events = await ask(fakes_env, "deepseek/deepseek-reasoner", enabled(5000), stream)
    body = sent(servers["deepseek"])
    assert "reasoning_effort" not in body and "thinking" not in body  # the reasoner always thinks
    assert "thinking" not in dropped
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert thinking_of(message) == ["Recall Rayleigh: intensity goes as 1/lambda^4."]
    if stream:
        kinds = {(kind, index) for _, index, kind in events}
        assert ("thinking", 0) in kinds and ("thinking_delta", 0) in kinds
        assert ("text", 1) in kinds and ("text_delta", 1) in kinds
        assert not any(kind == "text_delta" and index == 0 for _, index, kind in events)


async def test_deepseek_chat_is_switched_into_thinking_mode(fakes_env, servers):
    servers["deepseek"].enqueue(Reply(text="Blue."))
    _, dropped, _ = await ask(fakes_env, "deepseek/deepseek-chat", enabled(5000), False)
    assert sent(servers["deepseek"])["thinking"] == {"type": "enabled"}
    assert "thinking" not in dropped


# ----------------------------------------------------------------- Gemini


@STREAMED
async def test_gemini_25_gets_the_exact_budget_and_its_thoughts_come_back(fakes_env, servers, stream):
    servers["gemini"].enqueue(GeminiReply(text="Scattering.", thoughts="Sunlight meets air molecules."))
    message, dropped, _ = await ask(fakes_env, "gemini/gemini-2.5-flash", enabled(3000), stream)
    config = sent(servers["gemini"])["generationConfig"]
    assert config["thinkingConfig"] == {"thinkingBudget": 3000, "includeThoughts": True}
    assert config["maxOutputTokens"] == 8000
    assert "thinking" not in dropped
    assert thinking_of(message) == ["Sunlight meets air molecules."]
    assert message.content[-1].text == "Scattering."  # type: ignore[union-attr]


@pytest.mark.parametrize(("model", "thinking", "extra", "expected"), [
    ("gemini-3-pro-preview", {"type": "adaptive"}, {"output_config": {"effort": "high"}},
     {"thinkingLevel": "HIGH", "includeThoughts": True}),
    ("gemini-3-flash-preview", enabled(3000), {}, {"thinkingLevel": "MEDIUM", "includeThoughts": True}),
    ("gemini-2.5-flash", {"type": "disabled"}, {}, {"thinkingBudget": 0}),
])
async def test_gemini_levels_and_off(fakes_env, servers, model, thinking, extra, expected):
    servers["gemini"].enqueue(GeminiReply(text="Blue."))
    _, dropped, _ = await ask(fakes_env, f"gemini/{model}", thinking, False, **extra)
    assert sent(servers["gemini"])["generationConfig"]["thinkingConfig"] == expected
    assert "thinking" not in dropped


async def test_gemini_20_takes_no_thinking(fakes_env, servers):
    servers["gemini"].enqueue(GeminiReply(text="Blue."))
    _, dropped, _ = await ask(fakes_env, "gemini/gemini-2.0-flash", enabled(3000), False)
    assert "thinkingConfig" not in sent(servers["gemini"]).get("generationConfig", {})
    assert "thinking" in dropped


# ----------------------------------------------------------------- Bedrock


@STREAMED
async def test_claude_on_bedrock_gets_the_exact_budget(fakes_env, servers, stream):
    servers["bedrock"].enqueue(Reply(text="Scattering.", reasoning="Blue light scatters most."))
    message, dropped, events = await ask(fakes_env, f"bedrock/{CLAUDE_ON_BEDROCK}", enabled(3000), stream)
    body = sent(servers["bedrock"])
    assert body["additionalModelRequestFields"]["thinking"] == {"type": "enabled", "budget_tokens": 3000}
    assert body["inferenceConfig"]["maxTokens"] == 8000  # the client's cap already counts the thinking
    assert "thinking" not in dropped
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == "Blue light scatters most."  # type: ignore[union-attr]
    assert message.content[0].signature == BEDROCK_SIGNATURE  # type: ignore[union-attr]
    assert message.content[-1].text == "Scattering."  # type: ignore[union-attr]
    if stream:
        assert ("content_block_delta", 0, "signature_delta") in events
        assert ("content_block_delta", 1, "text_delta") in events


@STREAMED
async def test_other_bedrock_models_take_no_thinking(fakes_env, servers, stream):
    servers["bedrock"].enqueue(Reply(text="Scattering."))
    _, dropped, _ = await ask(fakes_env, "bedrock/amazon.nova-pro-v1:0", enabled(3000), stream)
    assert "thinking" not in sent(servers["bedrock"]).get("additionalModelRequestFields", {})
    assert "thinking" in dropped


# ----------------------------------------------------------------- Cohere


@STREAMED
async def test_cohere_reasoning_model_gets_the_exact_budget_and_its_thinking_comes_back(fakes_env, servers, stream):
    servers["cohere"].enqueue(Reply(text="Scattering.", reasoning="Think of Rayleigh."))
    message, dropped, _ = await ask(fakes_env, "cohere/command-a-reasoning-08-2025", enabled(3000), stream)
    assert sent(servers["cohere"])["thinking"] == {"type": "enabled", "token_budget": 3000}
    assert "thinking" not in dropped
    assert thinking_of(message) == ["Think of Rayleigh."]


async def test_cohere_disabled_and_a_model_without_reasoning(fakes_env, servers):
    servers["cohere"].enqueue(Reply(text="Blue."), Reply(text="Blue."))
    _, dropped, _ = await ask(fakes_env, "cohere/command-a-reasoning-08-2025", {"type": "disabled"}, False)
    assert sent(servers["cohere"])["thinking"] == {"type": "disabled"} and "thinking" not in dropped
    _, dropped, _ = await ask(fakes_env, "cohere/command-a-03-2025", enabled(3000), False)
    assert "thinking" not in sent(servers["cohere"]) and "thinking" in dropped


async def test_adaptive_thinking_lost_takes_its_effort_with_it(fakes_env, servers):
    servers["openai"].enqueue(Reply(text="Blue."))
    _, dropped, _ = await ask(fakes_env, "openai/gpt-4o", {"type": "adaptive"}, False,
                              output_config={"effort": "high"})
    assert "reasoning_effort" not in sent(servers["openai"])
    assert {"thinking", "output_config.effort"} <= set(dropped)
