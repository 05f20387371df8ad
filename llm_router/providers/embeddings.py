"""Embedding models: the canonical request and answer, the protocol each provider implements,
batching beyond a provider's per-call limit, and the float32 vector encodings.

A provider's implementation lives beside its chat model (``providers/openai/embed.py``,
``providers/cohere/embed.py``); :func:`embedder_for` picks it for a deployment, reusing the
deployment's HTTP client, so the router's attempts, retries and fallbacks work unchanged.
"""

from __future__ import annotations

import array
import asyncio
import base64
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import orjson

from llm_router.config.deployment import Deployment
from llm_router.errors import (
    InvalidRequest,
    ProviderError,
    UpstreamProtocolError,
    classify_status,
    parse_retry_after,
)
from llm_router.messages import Usage
from llm_router.providers.http import UpstreamClient

Inputs = tuple[str, ...] | tuple[tuple[int, ...], ...]
#: Calls of one split request that may be in flight at once.
BATCH_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class EmbedRequest:
    """A provider-neutral embedding request; ``model`` is the upstream model name.
    ``inputs`` are strings or token-id arrays; ``input_type`` is Cohere's (None: the
    provider's default); ``origin`` the client's body for a same-format pass-through."""

    model: str
    inputs: Inputs
    dimensions: int | None = None
    user: str | None = None
    input_type: str | None = None
    origin: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class EmbedResponse:
    """One vector per input, in input order."""

    model: str
    vectors: list[list[float]]
    usage: Usage = field(default_factory=Usage)
    #: The upstream body as it came, when it answers ``EmbedRequest.origin`` unchanged.
    raw: bytes | None = None


class EmbeddingModel(Protocol):
    """One deployment that turns texts into vectors."""

    #: The most inputs one upstream call may carry.
    max_batch: int

    async def embed(self, request: EmbedRequest) -> EmbedResponse:
        """Vectors for at most ``max_batch`` inputs."""
        ...


def embedder_for(deployment: Deployment, http: UpstreamClient) -> EmbeddingModel:
    """The embedding model of a deployment's provider; 400 when the provider has none."""
    from llm_router.providers.cohere.embed import CohereEmbeddingModel
    from llm_router.providers.openai.embed import OpenAICompatibleEmbeddingModel, OpenAIEmbeddingModel

    kinds: dict[str, type[OpenAIEmbeddingModel] | type[CohereEmbeddingModel]] = {
        "openai": OpenAIEmbeddingModel, "openai-compatible": OpenAICompatibleEmbeddingModel,
        "cohere": CohereEmbeddingModel}
    kind = kinds.get(deployment.provider)
    if kind is None:
        raise InvalidRequest(f"Deployment '{deployment.name}' ({deployment.provider}) cannot make "
                             "embeddings.", "model")
    return kind(deployment, http)


async def embed_batched(model: EmbeddingModel, request: EmbedRequest) -> EmbedResponse:
    """Split ``request`` into calls of at most ``model.max_batch`` inputs (a few at a time),
    and reassemble the vectors in input order with the usage summed."""
    size = max(1, model.max_batch)
    if len(request.inputs) <= size:
        return await model.embed(request)
    pieces = [replace(request, inputs=request.inputs[i:i + size], origin=None)  # type: ignore[misc]
              for i in range(0, len(request.inputs), size)]
    gate = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def one(piece: EmbedRequest) -> EmbedResponse:
        async with gate:
            return await model.embed(piece)

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(piece)) for piece in pieces]
    answers = [task.result() for task in tasks]
    vectors = [vector for answer in answers for vector in answer.vectors]
    usage = Usage(sum(a.usage.input_tokens for a in answers), 0)
    return EmbedResponse(answers[0].model, vectors, usage)


def check_count(response: EmbedResponse, expected: int, provider: str) -> EmbedResponse:
    """The answer, if it has one vector per input (else a protocol error)."""
    if len(response.vectors) != expected:
        raise UpstreamProtocolError(
            f"Upstream returned {len(response.vectors)} embeddings for {expected} inputs.", provider=provider)
    return response


# ----- float32 encodings -----

def to_base64(vector: Sequence[float]) -> str:
    """A vector as base64 of its little-endian float32 values (OpenAI's ``base64``)."""
    values = array.array("f", vector)
    if sys.byteorder == "big":
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def from_base64(text: str) -> list[float]:
    """The floats of a base64 little-endian float32 vector."""
    data = base64.b64decode(text, validate=True)
    if len(data) % 4:
        raise ValueError("base64 embedding is not a whole number of float32 values")
    values = array.array("f")
    values.frombytes(data)
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


class HTTPEmbeddingModel:
    """I/O shared by the HTTP embedding models: POST JSON, classify a non-200 answer."""

    provider = ""
    path = ""
    max_batch = 2048

    def __init__(self, deployment: Deployment, http: UpstreamClient) -> None:
        self.deployment = deployment
        self.http = http

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.deployment.api_key is not None:
            headers["authorization"] = "Bearer " + self.deployment.key()
        return headers

    async def post(self, body: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        """POST ``body``; the raw answer and its JSON object."""
        d = self.deployment
        url = d.base_url.rstrip("/") + self.path
        async with self.http.post(url, self.headers(), orjson.dumps(body), d.timeouts, self.provider) as up:
            raw = await up.read()
            if up.status != 200:
                raise _error(self.provider, up.status, up.headers, raw)
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            raise UpstreamProtocolError("Upstream sent a malformed embeddings body.", provider=self.provider)
        return raw, value


def _error(provider: str, status: int, headers: Mapping[str, str], raw: bytes) -> ProviderError:
    """OpenAI's ``{"error": {...}}`` or Cohere's ``{"message"}``, classified by status."""
    kind, message = None, ""
    try:
        body = orjson.loads(raw)
        error = body.get("error", body) if isinstance(body, dict) else {}
        if isinstance(error, dict):
            kind = error.get("code") or error.get("type")
            message = str(error.get("message") or "")
        elif isinstance(error, str):
            message = error
    except orjson.JSONDecodeError:
        pass
    message = message[:2000] or f"Upstream answered HTTP {status}."
    return classify_status(provider, status, message, kind if isinstance(kind, str) else None,
                           parse_retry_after(headers))
