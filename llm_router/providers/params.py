"""The parameter policy: what each translated provider does with each OpenAI request parameter.
One table, pure; the translators and the ``/v1/chat/completions`` surface both read it.

Every parameter a client sets that the canonical request does not translate by itself (the
fields in ``ChatRequest.extra``, plus ``n``, ``seed``, ``user``, ``parallel_tool_calls``) gets
one of three outcomes per provider:

- **mapped**: the provider has the same meaning and the translator sends it (``reasoning_effort``
  becomes Anthropic extended thinking, ``user`` becomes ``metadata.user_id``...);
- **dropped**: it changes nothing the client can observe in the answer (``store``,
  ``prompt_cache_key``, ``logprobs: false``, ``n: 1``...); the answer names it in the header
  ``x-llm-router-dropped-params``;
- **refused**: dropping it would silently change the answer (``n > 1``, ``logprobs: true``,
  ``logit_bias``, penalties on Anthropic...): a 400 naming it, unless the deployment sets
  ``drop_params: true``, then it is dropped and named in the same header.

A parameter the table does not know is refused the same way. Providers speaking OpenAI's wire
(``openai``, ``openai-compatible``) are not in the table: they get every parameter as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from llm_router.errors import InvalidRequest
from llm_router.messages import ChatRequest

Action = Literal["mapped", "dropped", "refused"]
DROPPED_HEADER = "x-llm-router-dropped-params"

#: Anthropic extended-thinking ``budget_tokens`` per ``reasoning_effort`` (``none``: no thinking).
#: ``max_tokens`` is raised to budget + the client's cap (or budget + 4096) so the answer fits.
ANTHROPIC_THINKING_BUDGET: Mapping[str, int] = MappingProxyType(
    {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576, "xhigh": 32000})
#: Cohere ``thinking.token_budget`` per ``reasoning_effort`` (reasoning models only).
COHERE_THINKING_BUDGET = ANTHROPIC_THINKING_BUDGET
EFFORTS = ("none", *ANTHROPIC_THINKING_BUDGET)
#: OpenAI ``service_tier`` → Anthropic ``service_tier`` where the meaning is the same.
ANTHROPIC_SERVICE_TIER: Mapping[str, str] = MappingProxyType({"auto": "auto", "default": "standard_only"})

Decide = Callable[[Any, ChatRequest], Action]


@dataclass(frozen=True, slots=True)
class Rule:
    """One cell of the table: ``decide(value, request)`` gives the outcome; ``doc`` says why
    (the README's table and the 400's message use it)."""

    decide: Decide
    doc: str


def always(action: Action, doc: str) -> Rule:
    """The same outcome whatever the value."""
    return Rule(lambda value, request: action, doc)


def refused_unless(harmless: Callable[[Any], bool], doc: str) -> Rule:
    """Dropped when the value is one that changes nothing (the default), refused otherwise."""
    return Rule(lambda value, request: "dropped" if harmless(value) else "refused", doc)


def _is(*values: Any) -> Callable[[Any], bool]:
    return lambda value: any(value == v and type(value) is type(v) for v in values)


def _falsy(value: Any) -> bool:
    return not value


def _anthropic_user_rule(name: str) -> Rule:
    def decide(value: Any, request: ChatRequest) -> Action:
        return "mapped" if anthropic_user_source(request) == name else "dropped"
    return Rule(decide, "→ metadata.user_id (first of safety_identifier, user, metadata.user_id)")


def _service_tier(value: Any, request: ChatRequest) -> Action:
    return "mapped" if isinstance(value, str) and value in ANTHROPIC_SERVICE_TIER else "dropped"


def _anthropic_reasoning(value: Any, request: ChatRequest) -> Action:
    return "mapped" if value == "none" or anthropic_thinking_budget(request) else "dropped"


def _cohere_reasoning(value: Any, request: ChatRequest) -> Action:
    return "mapped" if cohere_takes_thinking(request.model) else "dropped"


def _parallel(value: Any, request: ChatRequest) -> Action:
    return "mapped" if request.tools else "dropped"


_COMMON: dict[str, Rule] = {
    "store": always("dropped", "storage of completions is OpenAI's"),
    "prompt_cache_key": always("dropped", "a cache routing hint"),
    "verbosity": always("dropped", "a style hint"),
    "modalities": refused_unless(_is(["text"]), "text only"),
    "prediction": always("dropped", "a latency hint"),
    "logprobs": refused_unless(_falsy, "false dropped; true refused (no logprobs returned)"),
    "top_logprobs": refused_unless(_falsy, "needs logprobs"),
    "logit_bias": refused_unless(_falsy, "no token biasing"),
    "n": refused_unless(_is(1), "1 dropped; more choices refused"),
    "audio": always("refused", "no audio output"),
    "web_search_options": always("refused", "OpenAI's hosted search"),
    "functions": always("refused", "legacy functions: send tools"),
    "function_call": always("refused", "legacy function_call: send tool_choice"),
}

def _bedrock_reasoning(value: Any, request: ChatRequest) -> Action:
    if value == "none":
        return "dropped"
    if "anthropic." not in request.model:
        return "refused"  # only Claude models on Bedrock take a thinking setting through Converse
    return "mapped" if anthropic_thinking_budget(request) is not None else "dropped"


def _gemini_reasoning(value: Any, request: ChatRequest) -> Action:
    return "mapped" if gemini_thinks(request.model) else "dropped"


_UNTAGGED: dict[str, Rule] = {  # request tags and tiers that change nothing in the answer
    "metadata": always("dropped", "request tagging"),
    "safety_identifier": always("dropped", "abuse-monitoring id"),
    "user": always("dropped", "abuse-monitoring id"),
    "service_tier": always("dropped", "a latency/cost tier"),
    "parallel_tool_calls": refused_unless(_is(True), "true dropped; false refused (no single-call mode)"),
}
_GEMINI: Mapping[str, Rule] = MappingProxyType({
    **_COMMON, **_UNTAGGED,
    "reasoning_effort": Rule(_gemini_reasoning, "→ thinkingConfig: thinkingBudget per level (thinkingLevel "
                                                "on Gemini 3), thought summaries returned as reasoning; "
                                                "dropped on Gemini 1.x/2.0"),
    "seed": always("mapped", "→ generationConfig.seed"),
    "frequency_penalty": always("mapped", "→ generationConfig.frequencyPenalty"),
    "presence_penalty": always("mapped", "→ generationConfig.presencePenalty"),
    "top_k": always("mapped", "→ generationConfig.topK"),
})
_BEDROCK: Mapping[str, Rule] = MappingProxyType({
    **_COMMON, **_UNTAGGED,
    "reasoning_effort": Rule(_bedrock_reasoning, "Claude models: → additionalModelRequestFields.thinking "
                                                 "(as for Anthropic); refused on other models"),
    "seed": refused_unless(_is(None), "no seeded sampling"),
    "frequency_penalty": refused_unless(_is(0, 0.0), "0 dropped; otherwise refused"),
    "presence_penalty": refused_unless(_is(0, 0.0), "0 dropped; otherwise refused"),
    "top_k": always("mapped", "→ additionalModelRequestFields.top_k"),
})
# Gemini's and Bedrock's own wires (providers/gemini, vertex, bedrock); Claude on Vertex is
# translated by the Anthropic translator, so under Anthropic's rules.
_GOOGLE_AWS_TABLES: dict[str, Mapping[str, Rule]] = {
    "gemini": _GEMINI, "vertex": _GEMINI, "bedrock": _BEDROCK}

TABLE: Mapping[str, Mapping[str, Rule]] = MappingProxyType({
    "anthropic": MappingProxyType({
        **_COMMON,
        "metadata": _anthropic_user_rule("metadata"),
        "safety_identifier": _anthropic_user_rule("safety_identifier"),
        "user": _anthropic_user_rule("user"),
        "service_tier": Rule(_service_tier, "auto → auto, default → standard_only; others dropped"),
        "reasoning_effort": Rule(_anthropic_reasoning,
                                 "→ thinking.budget_tokens per level; dropped with a forced tool, "
                                 "a temperature ≠ 1, top_p < 0.95, or a tool result last"),
        "parallel_tool_calls": Rule(_parallel, "false → tool_choice.disable_parallel_tool_use"),
        "seed": refused_unless(_is(None), "no seeded sampling"),
        "frequency_penalty": refused_unless(_is(0, 0.0), "0 dropped; otherwise refused"),
        "presence_penalty": refused_unless(_is(0, 0.0), "0 dropped; otherwise refused"),
    }),
    "cohere": MappingProxyType({
        **_COMMON,
        "metadata": always("dropped", "request tagging"),
        "safety_identifier": always("dropped", "abuse-monitoring id"),
        "user": always("dropped", "abuse-monitoring id"),
        "service_tier": always("dropped", "a latency/cost tier"),
        "reasoning_effort": Rule(_cohere_reasoning,
                                 "→ thinking on reasoning models (none: disabled); dropped on others"),
        "parallel_tool_calls": Rule(_parallel, "false: only the first tool call is returned"),
        "seed": always("mapped", "→ seed"),
        "frequency_penalty": always("mapped", "→ frequency_penalty"),
        "presence_penalty": always("mapped", "→ presence_penalty"),
    }),
    **_GOOGLE_AWS_TABLES,
})

PROVIDER_NAMES: Mapping[str, str] = MappingProxyType({
    "anthropic": "Anthropic", "cohere": "Cohere", "gemini": "Gemini", "vertex": "Gemini on Vertex AI",
    "bedrock": "Bedrock"})


@dataclass(frozen=True, slots=True)
class Decision:
    """What happens to the request's parameters on one provider."""

    mapped: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()


def set_params(request: ChatRequest) -> dict[str, Any]:
    """The parameters the table rules on: the extras plus the canonical fields it covers."""
    values = {name: getattr(request, name) for name in ("n", "seed", "user", "parallel_tool_calls")
              if getattr(request, name) is not None}
    values.update(request.extra)
    return values


def decide(provider: str, request: ChatRequest, drop_params: bool = False) -> Decision:
    """The outcome of every set parameter on ``provider``; InvalidRequest (400) naming the
    first refused one unless ``drop_params``. A provider outside the table takes everything."""
    rules = TABLE.get(provider)
    if rules is None:
        return Decision()
    mapped: list[str] = []
    dropped: list[str] = []
    for name, value in set_params(request).items():
        rule = rules.get(name)
        action = rule.decide(value, request) if rule is not None else "refused"
        if action == "refused" and not drop_params:
            raise refusal(provider, name, rule)
        (mapped if action == "mapped" else dropped).append(name)
    return Decision(tuple(mapped), tuple(sorted(dropped)))


def refusal(provider: str, name: str, rule: Rule | None) -> InvalidRequest:
    """The 400 for a refused parameter, naming it."""
    who = PROVIDER_NAMES.get(provider, provider)
    why = f" ({rule.doc})" if rule is not None else ""
    return InvalidRequest(f"Parameter '{name}' is not supported by {who}{why}; "
                          "set drop_params: true on the deployment to drop it instead.", name)


def anthropic_user_source(request: ChatRequest) -> str | None:
    """Which parameter gives Anthropic's ``metadata.user_id``, if any."""
    if isinstance(request.extra.get("safety_identifier"), str):
        return "safety_identifier"
    if request.user:
        return "user"
    metadata = request.extra.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        return "metadata"
    return None


def anthropic_user_id(request: ChatRequest) -> str | None:
    """The value for Anthropic's ``metadata.user_id``."""
    source = anthropic_user_source(request)
    if source == "safety_identifier":
        return str(request.extra["safety_identifier"])
    if source == "user":
        return request.user
    if source == "metadata":
        return str(request.extra["metadata"]["user_id"])
    return None


def effort(request: ChatRequest) -> str | None:
    """The request's ``reasoning_effort``, checked (400 for an unknown level)."""
    value = request.extra.get("reasoning_effort")
    if value is None:
        return None
    if value not in EFFORTS:
        raise InvalidRequest(f"reasoning_effort must be one of {', '.join(EFFORTS)}.", "reasoning_effort")
    return str(value)


def anthropic_thinking_budget(request: ChatRequest) -> int | None:
    """Anthropic's thinking budget for the request's reasoning setting (``ChatRequest.reasoning``:
    its exact budget, else its level's; or ``reasoning_effort``'s level), or None where thinking
    cannot be turned on: a forced tool choice, a temperature other than 1 or a top_p under 0.95
    (Anthropic refuses those with thinking), or a conversation ending in a tool result (Anthropic
    wants the earlier turn's signed thinking block back, which a translated request does not keep)."""
    setting = request.reasoning
    level = setting.effort if setting is not None else effort(request)
    if level is None or level == "none":
        return None
    choice = request.tool_choice
    if choice is not None and choice.mode in ("required", "function"):
        return None
    if request.temperature not in (None, 1) or (request.top_p is not None and request.top_p < 0.95):
        return None
    if request.messages and request.messages[-1].role == "tool":
        return None
    return thinking_budget(level, setting.budget_tokens if setting is not None else None)


def thinking_budget(level: str, exact: int | None = None) -> int:
    """A thinking budget in tokens: the client's exact one, else its level's (Anthropic's table)."""
    if exact is not None:
        return exact
    return ANTHROPIC_THINKING_BUDGET.get(level, ANTHROPIC_THINKING_BUDGET["medium"])


def thinking_max_tokens(request: ChatRequest, budget: int, default: int) -> int:
    """``max_tokens`` with thinking on. An Anthropic client's own ``max_tokens`` already counts the
    thinking (it must exceed the budget) and is kept; an OpenAI client's cap is for the answer,
    so the budget is added to it (or to ``default``)."""
    cap = request.max_tokens
    if request.reasoning is not None and cap is not None and cap > budget:
        return cap
    return budget + (cap or default)


def gemini_thinks(model: str) -> bool:
    """Whether a Gemini model takes ``thinkingConfig``: not 1.x, 2.0 or Gemma; 2.5, 3 and aliases do."""
    name = model.lower().removeprefix("models/")
    return not name.startswith(("gemini-1", "gemini-2.0", "gemma"))


def cohere_takes_thinking(model: str) -> bool:
    """Whether a Cohere model has a reasoning setting (the ``command-a-reasoning`` family)."""
    return "reasoning" in model.lower()


def dropped_header(provider: str, request: ChatRequest, drop_params: bool,
                   model: str | None = None) -> dict[str, str]:
    """``{x-llm-router-dropped-params: a,b}`` for what ``provider`` drops of ``request`` (sent to
    upstream model ``model``, when given); empty when nothing is dropped or the provider takes
    everything (no copy of the request is made for such a provider)."""
    if provider not in TABLE:
        return {}
    if model is not None:
        request = request.with_model(model)
    try:
        names = decide(provider, request, drop_params).dropped
    except InvalidRequest:
        return {}
    return {DROPPED_HEADER: ",".join(names)} if names else {}
