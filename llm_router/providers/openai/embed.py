"""OpenAI ``POST {base_url}/embeddings`` (and OpenAI-compatible servers) as an EmbeddingModel."""

from __future__ import annotations

import binascii
from typing import Any

from llm_router.errors import UpstreamProtocolError
from llm_router.messages import Usage
from llm_router.providers.embeddings import (
    EmbedRequest,
    EmbedResponse,
    HTTPEmbeddingModel,
    from_base64,
)

#: Body fields of ours that OpenAI does not know (they are not passed through).
OURS = ("input_type",)


class OpenAIEmbeddingModel(HTTPEmbeddingModel):
    """OpenAI itself: a client body within one call passes through unchanged (only ``model``
    replaced) and its bytes come back as they are; split batches ask for base64 (a quarter of
    the bytes) and are decoded here."""

    provider = "openai"
    path = "/embeddings"
    max_batch = 2048
    passthrough = True
    upstream_encoding = "base64"

    async def embed(self, request: EmbedRequest) -> EmbedResponse:
        if self.passthrough and request.origin is not None:
            sent = {k: v for k, v in request.origin.items() if k not in OURS}
            raw, value = await self.post({**sent, "model": self.deployment.model})
            return self.parse(value, len(request.inputs), raw)
        body: dict[str, Any] = {"model": request.model, "input": list(request.inputs),
                                "encoding_format": self.upstream_encoding}
        if request.dimensions is not None:
            body["dimensions"] = request.dimensions
        if request.user is not None:
            body["user"] = request.user
        _, value = await self.post(body)
        return self.parse(value, len(request.inputs))

    def parse(self, value: dict[str, Any], expected: int, raw: bytes | None = None) -> EmbedResponse:
        """Vectors in input order (by ``index``), float or base64 entries alike. With ``raw``
        (a pass-through: the client gets those bytes) each entry is checked but not decoded, and
        the answer carries ``raw`` and no vectors."""
        try:
            data = sorted(value["data"], key=lambda d: int(d["index"]))
            if raw is None:
                vectors = [_vector(d["embedding"]) for d in data]
            else:
                for d in data:
                    _check(d["embedding"])
                vectors = []
            usage = value.get("usage") or {}
            tokens = int(usage.get("prompt_tokens") or usage.get("total_tokens") or 0)
        except (KeyError, TypeError, ValueError):  # binascii.Error is a ValueError
            raise UpstreamProtocolError("Upstream sent a malformed embeddings body.",
                                        provider=self.provider) from None
        model = str(value.get("model") or self.deployment.model)
        count = len(data)
        if count != expected:
            raise UpstreamProtocolError(f"Upstream returned {count} embeddings for {expected} inputs.",
                                        provider=self.provider)
        return EmbedResponse(model, vectors, Usage(tokens, 0), raw)


class OpenAICompatibleEmbeddingModel(OpenAIEmbeddingModel):
    """An OpenAI-compatible server (vLLM, Ollama, llama.cpp, TEI...): same wire, floats asked
    for (not every server encodes base64), never passed through."""

    provider = "openai-compatible"
    passthrough = False
    upstream_encoding = "float"


def _check(value: Any) -> None:
    """What ``_vector`` refuses, without making the floats."""
    if isinstance(value, str):
        if len(binascii.a2b_base64(value, strict_mode=True)) % 4:
            raise ValueError("base64 embedding is not a whole number of float32 values")
    elif not isinstance(value, list) or not all(isinstance(x, (int, float)) for x in value):
        raise ValueError("embedding is neither a list of numbers nor a base64 string")


def _vector(value: Any) -> list[float]:
    if isinstance(value, str):
        return from_base64(value)
    if isinstance(value, list):
        return [float(x) for x in value]
    raise ValueError("embedding is neither a list nor a base64 string")
