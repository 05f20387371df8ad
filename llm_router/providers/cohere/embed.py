"""Cohere ``POST {base_url}/v2/embed`` as an EmbeddingModel (96 texts per call).

``input_type`` is required by Cohere's v3+ models. It is ``search_document`` unless the
request says otherwise (the ``input_type`` body field: ``search_query``, ``classification``,
``clustering``...): an OpenAI-shaped client embedding documents for retrieval needs no change;
a client embedding queries sets ``extra_body={"input_type": "search_query"}``.
"""

from __future__ import annotations

from typing import Any

from llm_router.errors import InvalidRequest, UpstreamProtocolError
from llm_router.messages import Usage
from llm_router.providers.embeddings import EmbedRequest, EmbedResponse, HTTPEmbeddingModel, check_count

DEFAULT_INPUT_TYPE = "search_document"
INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")


class CohereEmbeddingModel(HTTPEmbeddingModel):
    provider = "cohere"
    path = "/v2/embed"
    max_batch = 96

    async def embed(self, request: EmbedRequest) -> EmbedResponse:
        texts = list(request.inputs)
        if not all(isinstance(t, str) for t in texts):
            raise InvalidRequest("Cohere embeds text: 'input' must be a string or a list of strings, "
                                 "not token arrays.", "input")
        input_type = request.input_type or DEFAULT_INPUT_TYPE
        if input_type not in INPUT_TYPES:
            raise InvalidRequest(f"'input_type' must be one of {', '.join(INPUT_TYPES)}.", "input_type")
        body: dict[str, Any] = {"model": request.model, "input_type": input_type, "texts": texts,
                                "embedding_types": ["float"], "truncate": "END"}
        if request.dimensions is not None:
            body["output_dimension"] = request.dimensions
        _, value = await self.post(body)
        try:
            vectors = [[float(x) for x in v] for v in value["embeddings"]["float"]]
            billed = (value.get("meta") or {}).get("billed_units") or {}
            tokens = int(billed.get("input_tokens") or 0)
        except (KeyError, TypeError, ValueError):
            raise UpstreamProtocolError("Upstream sent a malformed embed body.",
                                        provider=self.provider) from None
        return check_count(EmbedResponse(request.model, vectors, Usage(tokens, 0)), len(texts), self.provider)
