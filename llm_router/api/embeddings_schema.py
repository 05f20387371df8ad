"""The OpenAI embeddings request (``POST /v1/embeddings``), validated and made canonical.

https://platform.openai.com/docs/api-reference/embeddings/create
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from llm_router.api.body import parse_json
from llm_router.errors import InvalidRequest
from llm_router.providers.embeddings import EmbedRequest, Inputs

FORBIDDEN = ("api_base", "base_url", "api_key", "extra_headers", "organization", "extra_body")
#: OpenAI's own limit per request ("2048 dimensions or less"): 100,000 inputs were accepted
#: (and split) before, and 100,000 vectors of 1,536 floats took ~50 s and over 1 GB to answer.
MAX_INPUTS = 2048


class EmbeddingsIn(BaseModel):
    """The request body of ``POST /v1/embeddings``. ``input_type`` is ours (Cohere's)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=256)
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1, le=65536)
    user: str | None = None
    input_type: str | None = None


def parse_request(raw: bytes) -> EmbeddingsIn:
    """Validate a raw body; InvalidRequest (400) naming the parameter otherwise."""
    return read_request(raw)[0]


def read_request(raw: bytes) -> tuple[EmbeddingsIn, dict[str, Any]]:
    """:func:`parse_request`, and the body as decoded (once) for the pass-through."""
    body, data = parse_json(EmbeddingsIn, raw, 400, "parameter", ("input", MAX_INPUTS))
    for name in FORBIDDEN:
        if name in (body.model_extra or {}):
            raise InvalidRequest(f"Parameter '{name}' is not allowed.", name)
    return body, data


def to_canonical(body: EmbeddingsIn, origin: dict[str, Any]) -> EmbedRequest:
    """The canonical request (``model`` is resolved by the gateway)."""
    return EmbedRequest("", _inputs(body.input), body.dimensions, body.user, body.input_type, origin)


def _inputs(value: str | list[str] | list[int] | list[list[int]]) -> Inputs:
    if isinstance(value, str):
        value = [value]
    if not value:
        raise InvalidRequest("Invalid 'input': empty array. Expected at least one input.", "input")
    if len(value) > MAX_INPUTS:
        raise InvalidRequest(f"Invalid 'input': at most {MAX_INPUTS} inputs per request.", "input")
    first = value[0]
    if isinstance(first, int):  # one token array
        return (tuple(int(t) for t in value if isinstance(t, int)),)
    if isinstance(first, list):
        return tuple(tuple(int(t) for t in v) for v in value if isinstance(v, list))
    for index, text in enumerate(value):
        if text == "":
            raise InvalidRequest(f"Invalid 'input[{index}]': empty string.", f"input[{index}]")
    return tuple(str(text) for text in value)
