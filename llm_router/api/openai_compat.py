"""The OpenAI-compatible surface: ``POST /v1/chat/completions`` and ``GET /v1/models``,
so any OpenAI SDK can use any provider by changing ``base_url`` and ``model``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import Receive

from llm_router.api import openai_wire
from llm_router.api.errors import describe
from llm_router.api.openai_schema import parse_request, to_canonical
from llm_router.api.streaming import StreamBody, cancel_on_disconnect
from llm_router.errors import ProviderError
from llm_router.gateway import ChatStream, Gateway, Outcome
from llm_router.observability.state import current_request_id

log = logging.getLogger("llm_router.openai")
router = APIRouter(prefix="/v1")


def _headers(outcome: Outcome) -> dict[str, str]:
    return {"x-llm-router-deployment": outcome.deployment.name,
            "x-llm-router-attempts": str(outcome.attempts)}


async def handle_completions(gateway: Gateway, raw: bytes, receive: Receive) -> Response:
    """``POST /v1/chat/completions`` in OpenAI's wire format, whole or streamed."""
    body = parse_request(raw)
    canonical = to_canonical(body)
    completion_id = "chatcmpl-" + current_request_id()
    if body.stream:
        stream = await cancel_on_disconnect(receive, gateway.stream(body.model, canonical))
        if stream is None:
            return Response(status_code=499)
        encoder = openai_wire.ChunkEncoder(completion_id, stream.outcome.deployment.model,
                                           canonical.include_usage)
        return StreamBody(_sse(stream, encoder), "text/event-stream", _headers(stream.outcome))
    # Passed through as it is when the deployment that answers speaks OpenAI's format.
    answer = gateway.chat_passthrough(body.model, canonical, orjson.loads(raw))
    result = await cancel_on_disconnect(receive, answer)
    if result is None:
        return Response(status_code=499)
    response, outcome, upstream_bytes = result
    payload = upstream_bytes or openai_wire.completion(response, completion_id, outcome.deployment.model)
    return Response(payload, media_type="application/json", headers=_headers(outcome))


async def _sse(stream: ChatStream, encoder: openai_wire.ChunkEncoder) -> AsyncIterator[bytes]:
    try:
        async for chunk in stream:
            frame = encoder.encode(chunk)
            if frame:
                yield frame
    except ProviderError as exc:
        info = describe(exc)
        log.warning("stream failed after it began request_id=%s type=%s", current_request_id(), info.type)
        yield encoder.error({"message": info.message, "type": info.type, "param": None, "code": info.code})


@router.get("/models")
async def list_models(request: Request) -> Response:
    """The model names a client can use, in OpenAI's list format."""
    gateway: Gateway = request.app.state.gateway
    data = [{"id": name, "object": "model", "created": 0, "owned_by": owner}
            for name, owner in gateway.model_names()]
    return Response(orjson.dumps({"object": "list", "data": data}), media_type="application/json")
