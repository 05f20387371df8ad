"""What each provider and model does with a reasoning setting (pure): the per-model capability
table the translators read, and the surface's "was ``thinking`` dropped?" answer.

A request's setting is ``ChatRequest.reasoning`` (Anthropic's ``thinking``: a level and, for
``enabled``, the client's exact ``budget_tokens``) or else the OpenAI surfaces' ``reasoning_effort``
extra (a level only). Where the upstream takes a token budget (Anthropic-family thinking on
Vertex/Bedrock, Gemini 2.x ``thinkingBudget``, Cohere ``thinking.token_budget``, OpenRouter
``reasoning.max_tokens``) the exact budget is sent, or the level's budget when only a level is
known; where it takes levels (OpenAI ``reasoning_effort``, Gemini 3 ``thinkingLevel``) the level,
moved to the nearest one the model has. Each mapping function answers ``None`` when the model
cannot take the setting: it is then dropped, and the Anthropic surface lists ``thinking`` in
``x-llm-router-dropped-params``. ``none`` (``thinking: disabled``) on a model that does not
reason needs nothing sent and is not listed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from llm_router.messages import ChatRequest, Reasoning
from llm_router.providers import params

#: Levels in order; a level a model lacks moves to the nearest one it has (ties upwards).
LEVELS = ("minimal", "low", "medium", "high", "xhigh")
#: Anthropic ``thinking.budget_tokens`` → level, for upstreams that take levels: a budget up to
#: 2048 is ``low``, up to 8192 ``medium``, above that ``high`` (the inverse of
#: ``params.ANTHROPIC_THINKING_BUDGET``, which gives 2048 for low and 8192 for medium).
BUDGET_LEVELS = ((2048, "low"), (8192, "medium"))
#: Anthropic ``output_config.effort`` → level (``thinking: adaptive``); no effort: ``medium``.
ANTHROPIC_EFFORTS: Mapping[str, str] = MappingProxyType(
    {"low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "xhigh"})
#: Gemini 2.x ``thinkingBudget`` per level (``none``: 0, thinking off).
GEMINI_BUDGET: Mapping[str, int] = MappingProxyType(
    {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768})
#: Gemini 3 ``thinkingLevel`` per level (Flash); Pro has only LOW and HIGH.
GEMINI_LEVEL: Mapping[str, str] = MappingProxyType(
    {"none": "MINIMAL", "minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM", "high": "HIGH",
     "xhigh": "HIGH"})
GEMINI_PRO_LEVEL: Mapping[str, str] = MappingProxyType({"MINIMAL": "LOW", "MEDIUM": "HIGH"})
_O_SERIES = re.compile(r"o[134](-|$)")
_GPT5_MINOR = re.compile(r"gpt-5\.(\d+)")


def level_for_budget(budget: int) -> str:
    """The level of an Anthropic thinking budget (``BUDGET_LEVELS``)."""
    return next((level for top, level in BUDGET_LEVELS if budget <= top), "high")


def requested(request: ChatRequest) -> Reasoning | None:
    """The request's reasoning setting: the field, else ``reasoning_effort`` (checked: 400 for an
    unknown level)."""
    if request.reasoning is not None:
        return request.reasoning
    level = params.effort(request)
    return Reasoning(level) if level is not None else None


def nearest(effort: str, levels: tuple[str, ...]) -> str | None:
    """``effort`` moved to a level of ``levels``; ``none`` only where the model has it."""
    if effort == "none" or not levels:
        return effort if effort in levels else None
    if effort in levels:
        return effort
    have = [LEVELS.index(level) for level in levels if level in LEVELS]
    want = LEVELS.index(effort) if effort in LEVELS else LEVELS.index("medium")
    return LEVELS[min(have, key=lambda i: (abs(i - want), -i))] if have else None


def budget(setting: Reasoning) -> int:
    """The token budget: the client's exact one, else the level's (Anthropic's table)."""
    return params.thinking_budget(setting.effort, setting.budget_tokens)


# ----------------------------------------------------------------- OpenAI's wire


def openai_levels(model: str) -> tuple[str, ...]:
    """The ``reasoning_effort`` levels of an OpenAI model (or an open-weights gpt-oss model);
    empty for a model that does not reason (gpt-4o, gpt-4.1, gpt-5-chat...)."""
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith(("o1-mini", "o1-preview")):
        return ()  # the first o1 releases took no reasoning_effort
    if _O_SERIES.match(name):
        return ("low", "medium", "high")
    if name.startswith("gpt-oss"):
        return ("low", "medium", "high")
    if not name.startswith("gpt-5") or "chat" in name:
        return ()
    if name.startswith("gpt-5-pro"):
        return ("high",)
    minor = _GPT5_MINOR.match(name)
    if minor is None:
        return ("minimal", "low", "medium", "high")
    five_one = ("none", "low", "medium", "high")
    return five_one if minor.group(1) == "1" else (*five_one, "xhigh")


def _effort_field(levels: tuple[str, ...], setting: Reasoning) -> dict[str, Any] | None:
    """``reasoning_effort`` at the nearest level; ``none`` on a model that does not reason needs
    nothing, on one that cannot stop reasoning it is lost."""
    level = nearest(setting.effort, levels)
    if level is not None:
        return {"reasoning_effort": level}
    return {} if setting.effort == "none" and not levels else None


def _openai(model: str, setting: Reasoning) -> dict[str, Any] | None:
    return _effort_field(openai_levels(model), setting)


def _deepseek(model: str, setting: Reasoning) -> dict[str, Any] | None:
    """deepseek-reasoner always thinks; deepseek-chat thinks when ``thinking`` is enabled."""
    off = setting.effort == "none"
    if "reasoner" in model:
        return None if off else {}
    return {} if off else {"thinking": {"type": "enabled"}}


def _openrouter(model: str, setting: Reasoning) -> dict[str, Any] | None:
    """OpenRouter's unified ``reasoning``: a token budget, or an effort (``none``: off)."""
    if setting.budget_tokens is not None and setting.effort != "none":
        return {"reasoning": {"max_tokens": setting.budget_tokens}}
    return {"reasoning": {"effort": setting.effort}}


def _xai(model: str, setting: Reasoning) -> dict[str, Any] | None:
    """grok-3-mini takes low/high; grok-4 always reasons and refuses ``reasoning_effort``."""
    name = model.lower()
    if name.startswith("grok-3-mini"):
        return _effort_field(("low", "high"), setting)
    if name.startswith(("grok-4", "grok-code")) and "non-reasoning" not in name:
        return None if setting.effort == "none" else {}
    return {} if setting.effort == "none" else None


def _open_weights(model: str, setting: Reasoning) -> dict[str, Any] | None:
    """Other OpenAI-compatible hosts and local servers: gpt-oss takes ``reasoning_effort``."""
    levels = ("low", "medium", "high") if "gpt-oss" in model.lower() else ()
    return _effort_field(levels, setting)


#: The reasoning rule of each OpenAI-wire registry row (``providers/registry.py``); a row not
#: named here (other hosts, local servers, ``openai-compatible``) has ``_open_weights``.
OPENAI_WIRE_RULES: Mapping[str, Any] = MappingProxyType({
    "openai": _openai, "azure": _openai, "deepseek": _deepseek, "openrouter": _openrouter, "xai": _xai})


def openai_fields(row: str, request: ChatRequest) -> dict[str, Any] | None:
    """The body fields carrying ``request.reasoning`` on an OpenAI-wire row (``{}``: nothing to
    send; ``None``: the model cannot take it). The ``reasoning_effort`` extra of the OpenAI
    surfaces is not handled here: it passes through as the client sent it."""
    setting = request.reasoning
    if setting is None:
        return {}
    rule = OPENAI_WIRE_RULES.get(row, _open_weights)
    result: dict[str, Any] | None = rule(request.model, setting)
    return result


# ----------------------------------------------------------------- Gemini, Cohere


def gemini_thinking(model: str, setting: Reasoning | None) -> dict[str, Any] | None:
    """``thinkingConfig``: ``thinkingLevel`` on Gemini 3 (Pro: LOW or HIGH), ``thinkingBudget`` on
    2.x (the exact budget when given); thought summaries asked for (they come back as reasoning).
    None when there is no setting or the model does not think."""
    if setting is None or not params.gemini_thinks(model):
        return None
    shown = {"includeThoughts": True} if setting.effort != "none" else {}
    name = model.lower().removeprefix("models/")
    if name.startswith("gemini-3"):
        level = GEMINI_LEVEL.get(setting.effort, "MEDIUM")
        if "pro" in name:
            level = GEMINI_PRO_LEVEL.get(level, level)
        return {"thinkingLevel": level, **shown}
    if setting.effort == "none":
        return {"thinkingBudget": 0}
    tokens = setting.budget_tokens
    if tokens is None:
        tokens = GEMINI_BUDGET.get(setting.effort, GEMINI_BUDGET["medium"])
    return {"thinkingBudget": tokens, **shown}


def cohere_thinking(model: str, setting: Reasoning | None) -> dict[str, Any] | None:
    """Cohere's ``thinking`` on its reasoning models: enabled with ``token_budget`` (the exact
    budget when given), or disabled; None when there is no setting or the model does not reason."""
    if setting is None or not params.cohere_takes_thinking(model):
        return None
    if setting.effort == "none":
        return {"type": "disabled"}
    return {"type": "enabled", "token_budget": budget(setting)}


# ----------------------------------------------------------------- was it dropped?


def dropped(row: str, provider: str, request: ChatRequest) -> bool:
    """Whether ``request.reasoning`` is lost on the deployment of registry row ``row`` (wire
    family ``provider``; ``request.model`` the upstream model): the Anthropic surface then lists
    ``thinking``. An Anthropic deployment gets the client's body: nothing is lost."""
    setting = request.reasoning
    if setting is None or provider == "anthropic":
        return False
    off = setting.effort == "none"
    if provider in ("openai", "openai-compatible", "azure"):
        return openai_fields(row, request) is None
    if provider == "vertex-anthropic" or (provider == "bedrock" and "anthropic." in request.model):
        return not off and params.anthropic_thinking_budget(request) is None
    if provider in ("gemini", "vertex"):
        return not off and gemini_thinking(request.model, setting) is None
    if provider == "cohere":
        return not off and cohere_thinking(request.model, setting) is None
    return not off  # local, Bedrock's other models: no reasoning setting
