"""A canonical embedding answer as OpenAI's ``list`` of ``embedding`` objects (pure)."""

from __future__ import annotations

from typing import Any, Literal

import orjson

from llm_router.providers.embeddings import EmbedResponse, to_base64


def encode(response: EmbedResponse, encoding: Literal["float", "base64"], model: str) -> bytes:
    """The response body; ``base64`` packs each vector as little-endian float32."""
    pack = to_base64 if encoding == "base64" else _floats
    data = [{"object": "embedding", "index": i, "embedding": pack(v)} for i, v in enumerate(response.vectors)]
    tokens = response.usage.input_tokens
    body = {"object": "list", "data": data, "model": response.model or model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    return orjson.dumps(body)


def _floats(vector: list[float]) -> Any:
    return vector
