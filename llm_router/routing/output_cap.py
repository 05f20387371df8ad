"""The output cap per attempt: a ``max_tokens`` beyond the answering model's output limit is
lowered to that limit, not refused (Claude Code asks for 32,000 to 128,000 whatever the model).

The limit is the deployment's ``max_output_tokens`` option, else the shipped table
(``llm_router/data/model_limits.json``, matched like the price table), else none (nothing is
changed). A same-provider pass-through is left as the client sent it (Anthropic → Anthropic
stays byte-identical, OpenAI → OpenAI or Azure unchanged: that provider accepts or refuses);
an OpenAI-format body forwarded to an OpenAI-compatible server gets its cap fields lowered.
The surfaces say what happened in ``x-llm-router-max-tokens-lowered: <from>-><to>``.
All pure: the router's attempt and the response header compute the same answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from functools import cache, lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, TypeVar

from llm_router.config.deployment import Deployment
from llm_router.messages import ChatRequest

HEADER = "x-llm-router-max-tokens-lowered"
#: Client formats each provider (wire family) forwards untouched: no cap is applied there.
_NATIVE = MappingProxyType({"openai": frozenset({"openai", "azure"}),
                            "anthropic": frozenset({"anthropic"}),
                            "openai-responses": frozenset({"openai"})})
#: OpenAI-format bodies are forwarded as they are by these (their cap fields are lowered).
_OPENAI_FORWARDERS = frozenset({"openai-compatible"})
_CAP_FIELDS = ("max_tokens", "max_completion_tokens")
# Bedrock ids: an optional cross-region prefix, then the vendor ("us.anthropic.claude-...").
_BEDROCK_PREFIX = re.compile(r"^(?:(?:us|eu|apac|jp|au|ca|global|us-gov)\.)?"
                             r"(?:anthropic|meta|amazon|cohere|mistral|ai21|deepseek|openai|google)\.")
_SEPARATORS = ("-", "@", ":")

R = TypeVar("R")


@cache
def _table() -> MappingProxyType[str, int]:
    data = json.loads(resources.files("llm_router.data").joinpath("model_limits.json").read_text())
    return MappingProxyType({str(model): int(limit) for model, limit in data["models"].items()})


@lru_cache(maxsize=4096)  # asked per attempt (and for the header): the prefix scan costs ~30 µs
def known_limit(model: str) -> int | None:
    """The shipped table's output limit for an upstream model id (None: not known)."""
    name = _BEDROCK_PREFIX.sub("", model.rsplit("/", 1)[-1])
    table = _table()
    if name in table:
        return table[name]
    prefixes = [m for m in table if any(name.startswith(m + sep) for sep in _SEPARATORS)]
    return table[max(prefixes, key=len)] if prefixes else None


def output_limit(deployment: Deployment) -> int | None:
    """The deployment's own ``max_output_tokens``, else the table's value for its model."""
    own = deployment.options.max_output_tokens
    return own if own is not None else known_limit(deployment.model)


def lowered(deployment: Deployment, request: ChatRequest) -> tuple[int, int] | None:
    """``(asked, sent)`` when this deployment's attempt lowers the request's cap, else None."""
    origin = request.origin
    if origin is not None and deployment.provider in _NATIVE.get(origin.format, ()):
        return None  # the provider's own format, forwarded untouched
    limit = output_limit(deployment)
    asked = request.max_tokens
    if limit is None or asked is None or asked <= limit:
        return None
    return asked, limit


def capped(deployment: Deployment, request: R) -> R:
    """``request`` (a ChatRequest; anything else is returned as it is) with its cap lowered
    for ``deployment`` where :func:`lowered` says so."""
    if not isinstance(request, ChatRequest):
        return request
    change = lowered(deployment, request)
    if change is None:
        return request
    limit = change[1]
    origin = request.origin
    if origin is not None and origin.format == "openai" and deployment.provider in _OPENAI_FORWARDERS:
        body = {k: _lower(v, limit) if k in _CAP_FIELDS else v for k, v in origin.body.items()}
        origin = replace(origin, body=body, raw=None)
    return replace(request, max_tokens=limit, origin=origin)  # type: ignore[return-value]


def header(deployment: Deployment, request: ChatRequest) -> dict[str, str]:
    """``{x-llm-router-max-tokens-lowered: "from->to"}`` when the cap was lowered, else {}."""
    change = lowered(deployment, request)
    return {HEADER: f"{change[0]}->{change[1]}"} if change else {}


def _lower(value: Any, limit: int) -> Any:
    return min(value, limit) if isinstance(value, int) and not isinstance(value, bool) else value
