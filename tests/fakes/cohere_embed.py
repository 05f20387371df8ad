"""Cohere's ``POST /v2/embed`` for the fake Cohere upstream (a mixin of FakeCohere).

Validated as Cohere does: ``model`` and ``input_type`` required, exactly one of ``texts`` /
``images`` / ``inputs``, at most 96 per call, known ``embedding_types``, ``output_dimension``
one of 256/512/1024/1536, unknown fields refused. Each request consumes one scripted Reply.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from tests.fakes.base import Exchange, FakeServer
from tests.fakes.vectors import encode_vector, fake_vector, token_count
from tests.fakes.wire import Invalid, Problem, compact, first_unknown

EMBED_FIELDS = frozenset({"model", "input_type", "texts", "images", "inputs", "embedding_types", "truncate",
                          "max_tokens", "output_dimension", "priority"})
INPUT_TYPES = ("search_document", "search_query", "classification", "clustering", "image")
EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary", "base64")
MAX_TEXTS = 96
EMBED_DIMS = 10


class CohereEmbed(FakeServer):
    """``/v2/embed``."""

    def extra_routes(self) -> list[tuple[str, str, Any]]:
        return [("POST", "/v2/embed", self._handle_embed)]

    async def _handle_embed(self, request: web.Request) -> web.StreamResponse:
        return await self._guarded(request, self._next_reply(), self._answer_embed)

    async def _answer_embed(self, ex: Exchange) -> web.StreamResponse:
        body = ex.record.body
        problem = self.check_headers(ex.record.headers) or self._scripted_error(ex.reply)
        if problem is None:
            invalid = validate_embed(body) if isinstance(body, dict) else ("invalid request: body", "body")
            if invalid:
                problem = Problem(400, "", *invalid)
        if problem:
            return await self._send_problem(ex, problem)
        texts = body["texts"]
        dims = body.get("output_dimension") or EMBED_DIMS
        kinds = body.get("embedding_types") or ["float"]
        vectors = [fake_vector(text, dims) for text in texts]
        embeddings = {kind: [encode_vector(v, "base64" if kind == "base64" else "float") for v in vectors]
                      for kind in kinds}
        tokens = sum(token_count(t) for t in texts)
        answer = {"id": str(uuid.uuid4()), "embeddings": embeddings, "texts": texts,
                  "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}},
                  "response_type": "embeddings_by_type"}
        return await self._send_json(ex, 200, compact(answer))


def validate_embed(body: dict[str, Any]) -> Invalid | None:
    """Cohere's checks of a ``/v2/embed`` body."""
    unknown = first_unknown(body, EMBED_FIELDS)
    if unknown:
        return f'invalid request: json: unknown field "{unknown}"', unknown
    if not isinstance(body.get("model"), str):
        return "invalid request: model is required", "model"
    if body.get("input_type") not in INPUT_TYPES:
        return f"invalid request: input_type must be one of {', '.join(INPUT_TYPES)}", "input_type"
    given = [k for k in ("texts", "images", "inputs") if body.get(k) is not None]
    if given != ["texts"]:
        return "invalid request: exactly one of texts, images or inputs must be given (this fake: texts)", "texts"
    texts = body["texts"]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return "invalid request: texts must be a non-empty list of strings", "texts"
    if len(texts) > MAX_TEXTS:
        return f"invalid request: texts must contain at most {MAX_TEXTS} items, got {len(texts)}", "texts"
    kinds = body.get("embedding_types") or ["float"]
    if not all(k in EMBEDDING_TYPES for k in kinds):
        return f"invalid request: embedding_types must be among {', '.join(EMBEDDING_TYPES)}", "embedding_types"
    dims = body.get("output_dimension")
    if dims is not None and dims not in (256, 512, 1024, 1536):
        return "invalid request: output_dimension must be one of 256, 512, 1024, 1536", "output_dimension"
    return None
