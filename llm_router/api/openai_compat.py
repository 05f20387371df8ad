"""The OpenAI-compatible surface: ``POST /v1/chat/completions`` and ``GET /v1/models``,
so any OpenAI SDK can use any provider by changing ``base_url`` and ``model``."""

from __future__ import annotations

import logging
from functools import partial
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response
from starlette.types import Receive

from llm_router.aio import off_loop
from llm_router.api import openai_wire
from llm_router.api.auth import api_principal
from llm_router.api.body import is_big
from llm_router.api.errors import ErrorInfo
from llm_router.api.openai_schema import ChatCompletionIn, parse_request, to_canonical
from llm_router.api.streaming import StreamBody, cancel_on_disconnect, encoded_stream
from llm_router.gateway import Gateway, Outcome
from llm_router.messages import ChatRequest, WireBody
from llm_router.observability.state import current_request_id
from llm_router.policies.base import Principal, RequestContext
from llm_router.providers import params

log = logging.getLogger("llm_router.openai")
router = APIRouter(prefix="/v1")


def _headers(outcome: Outcome, request: ChatRequest) -> dict[str, str]:
    """The routing headers, and ``x-llm-router-dropped-params`` naming what the parameter
    policy dropped on the deployment that answered (``providers/params.py``)."""
    d = outcome.deployment
    dropped = params.dropped_header(d.provider, request, d.options.drop_params, d.model)
    return {"x-llm-router-deployment": d.name, "x-llm-router-attempts": str(outcome.attempts), **dropped}


async def handle_completions(gateway: Gateway, ctx: RequestContext, raw: bytes,
                             receive: Receive) -> Response:
    """``POST /v1/chat/completions`` in OpenAI's wire format, whole or streamed. The client's
    body rides along (``origin``): a deployment speaking OpenAI's format sends it on as it is."""
    body, canonical = await off_loop(_read, raw) if is_big(raw) else _read(raw)
    if body.stream:
        stream = await cancel_on_disconnect(receive, gateway.stream(body.model, canonical, ctx))
        if stream is None:
            return Response(status_code=499)
        encoder = openai_wire.ChunkEncoder(_completion_id(), stream.outcome.deployment.model,
                                           canonical.include_usage)
        frames = encoded_stream(stream, encoder.encode, partial(_error_frame, encoder))
        return StreamBody(frames, "text/event-stream", _headers(stream.outcome, canonical))
    result = await cancel_on_disconnect(receive, gateway.chat(body.model, canonical, ctx))
    if result is None:
        return Response(status_code=499)
    response, outcome = result
    payload = response.raw or openai_wire.completion(response, _completion_id(), outcome.deployment.model)
    return Response(payload, media_type="application/json", headers=_headers(outcome, canonical))


def _read(raw: bytes) -> tuple[ChatCompletionIn, ChatRequest]:
    body, data = parse_request(raw)
    return body, to_canonical(body, WireBody("openai", data))


def _completion_id() -> str:
    """The ``chatcmpl-`` id of an answer we encode (a passed-through one keeps the upstream's)."""
    return "chatcmpl-" + current_request_id()


def _error_frame(encoder: openai_wire.ChunkEncoder, info: ErrorInfo) -> bytes:
    return encoder.error({"message": info.message, "type": info.type, "param": None, "code": info.code})


@router.get("/models")
async def list_models(request: Request, principal: Annotated[Principal, Depends(api_principal)]) -> Response:
    """The model names the caller can use, in OpenAI's list format, or Anthropic's when the
    request carries ``anthropic-version`` (a virtual key sees only the models it may use)."""
    gateway: Gateway = request.app.state.gateway
    names = gateway.model_names()
    plane = request.app.state.admin
    if plane is not None:
        visible = set(plane.visible_models(principal, [name for name, _ in names]))
        names = [(name, owner) for name, owner in names if name in visible]
    if "anthropic-version" in request.headers:  # an Anthropic client: Anthropic's list shape
        from llm_router.api.anthropic_surface import models_response

        return models_response(names)
    data = [{"id": name, "object": "model", "created": 0, "owned_by": owner} for name, owner in names]
    return Response(orjson.dumps({"object": "list", "data": data}), media_type="application/json")
