"""The embeddings surface: ``POST /v1/embeddings`` in OpenAI's wire format, for OpenAI
(pass-through), Cohere (``/v2/embed``) and OpenAI-compatible servers.

``encoding_format`` ``float`` or ``base64`` (the official SDKs' default: little-endian float32,
base64-encoded) whatever the provider answers; ``dimensions`` is passed on (Cohere:
``output_dimension``); ``input_type`` (ours) chooses Cohere's input type (default
``search_document``). A request with more inputs than the provider takes in one call (Cohere
96, OpenAI 2048) is split and the vectors come back complete and in input order.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Receive

from llm_router.aio import off_loop
from llm_router.api import embeddings_wire
from llm_router.api.body import is_big
from llm_router.api.embeddings_schema import EmbeddingsIn, read_request, to_canonical
from llm_router.api.streaming import cancel_on_disconnect
from llm_router.gateway import Gateway
from llm_router.policies.base import RequestContext
from llm_router.providers.embeddings import EmbedRequest


async def handle_embeddings(gateway: Gateway, ctx: RequestContext, raw: bytes, receive: Receive) -> Response:
    """``POST /v1/embeddings``."""
    body, request = await off_loop(_read, raw) if is_big(raw) else _read(raw)
    result = await cancel_on_disconnect(receive, gateway.embed(body.model, request, ctx))
    if result is None:
        return Response(status_code=499)
    response, outcome = result
    payload = response.raw or embeddings_wire.encode(response, body.encoding_format, outcome.deployment.model)
    headers = {"x-llm-router-deployment": outcome.deployment.name,
               "x-llm-router-attempts": str(outcome.attempts)}
    return Response(payload, media_type="application/json", headers=headers)


def _read(raw: bytes) -> tuple[EmbeddingsIn, EmbedRequest]:
    body, data = read_request(raw)
    return body, to_canonical(body, data)
