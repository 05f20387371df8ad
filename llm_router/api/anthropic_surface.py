"""Anthropic's Messages API as a surface: ``POST /v1/messages`` (whole or streamed),
``POST /v1/messages/count_tokens`` and ``GET /v1/models`` in Anthropic's shape, so Claude Code
(``ANTHROPIC_BASE_URL``) and the ``anthropic`` SDK can use any model behind the gateway.

The model name resolves like everywhere else (route, deployment, ``provider/model``, or a bare
``claude-...`` id for the anthropic provider). An Anthropic deployment gets the client's body
and ``anthropic-*`` headers unchanged and its answer goes back as it came; any other provider
gets the canonical request, and what it could not carry is listed in
``x-llm-router-dropped-params``. Errors are raised and shaped by ``api/errors.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

import orjson
from starlette.responses import Response
from starlette.types import Receive

from llm_router.aio import off_loop
from llm_router.api import anthropic_wire, token_count
from llm_router.api.anthropic_decode import Decoded, decode
from llm_router.api.anthropic_schema import CountTokensIn, MessagesIn, read_count, read_messages
from llm_router.api.body import is_big
from llm_router.api.errors import ErrorInfo, error_body
from llm_router.api.streaming import StreamBody, cancel_on_disconnect, encoded_stream
from llm_router.gateway import Gateway, Outcome
from llm_router.observability.state import current_request_id
from llm_router.policies.base import RequestContext
from llm_router.providers.anthropic.chat_model import AnthropicChatModel

log = logging.getLogger("llm_router.anthropic")
DROPPED_HEADER = "x-llm-router-dropped-params"


def _headers(ctx: RequestContext, outcome: Outcome, decoded: Decoded) -> dict[str, str]:
    """Our headers; what the canonical request left out joins any other dropped names."""
    dropped = decoded.dropped_on(outcome.deployment)
    if dropped and outcome.deployment.provider != "anthropic":
        seen = ctx.response_headers.get(DROPPED_HEADER, "")
        names = dict.fromkeys([*dropped, *filter(None, seen.split(","))])
        ctx.response_headers[DROPPED_HEADER] = ",".join(names)
    return {"x-llm-router-deployment": outcome.deployment.name,
            "x-llm-router-attempts": str(outcome.attempts),
            "request-id": current_request_id()}


def _read_messages(raw: bytes, headers: Mapping[str, str]) -> tuple[MessagesIn, Decoded, int]:
    body, data = read_messages(raw)
    decoded = decode(body, raw, headers, data)
    return body, decoded, token_count.estimate(decoded.request)


def _read_count(raw: bytes, headers: Mapping[str, str]) -> tuple[CountTokensIn, Decoded]:
    body, data = read_count(raw)
    return body, decode(body, raw, headers, data)


async def handle_messages(gateway: Gateway, ctx: RequestContext, raw: bytes, receive: Receive) -> Response:
    """``POST /v1/messages`` (``?beta=true`` is accepted and ignored)."""
    if is_big(raw):
        body, decoded, estimate = await off_loop(_read_messages, raw, ctx.headers)
    else:
        body, decoded, estimate = _read_messages(raw, ctx.headers)
    message_id = "msg_" + current_request_id()
    if body.stream:
        stream = await cancel_on_disconnect(receive, gateway.stream(body.model, decoded.request, ctx))
        if stream is None:
            return Response(status_code=499)
        model = stream.outcome.deployment.model
        encoder = anthropic_wire.StreamEncoder(message_id, model, estimate)
        frames = encoded_stream(stream, encoder.encode, _error_frame(encoder))
        return StreamBody(frames, "text/event-stream; charset=utf-8",
                          {**_headers(ctx, stream.outcome, decoded), "cache-control": "no-cache"})
    result = await cancel_on_disconnect(receive, gateway.chat(body.model, decoded.request, ctx))
    if result is None:
        return Response(status_code=499)
    response, outcome = result
    if response.raw is not None and outcome.deployment.provider == "anthropic":
        payload = response.raw
    else:
        model = response.model or outcome.deployment.model
        payload = anthropic_wire.message(response, message_id, model, estimate)
    return Response(payload, media_type="application/json", headers=_headers(ctx, outcome, decoded))


def _error_frame(encoder: anthropic_wire.StreamEncoder) -> Callable[[ErrorInfo], bytes]:
    def frame(info: ErrorInfo) -> bytes:
        shaped = orjson.loads(error_body(info, "anthropic", current_request_id()))["error"]
        return encoder.error(shaped["type"], shaped["message"])

    return frame


async def handle_count_tokens(gateway: Gateway, ctx: RequestContext, raw: bytes,
                              receive: Receive) -> Response:
    """``POST /v1/messages/count_tokens``: Anthropic's own count for an Anthropic deployment,
    else the model's tokenizer where one is available, else the documented estimate."""
    big = is_big(raw)
    body, decoded = await off_loop(_read_count, raw, ctx.headers) if big else _read_count(raw, ctx.headers)
    ctx.model, ctx.request = body.model, decoded.request
    await gateway.policies.check(ctx)  # model access and limits apply to counting too
    _, deployments = gateway.router.plan(body.model)
    deployment = deployments[0]
    headers = {"x-llm-router-deployment": deployment.name, "request-id": current_request_id()}
    model = gateway.router.factory.for_deployment(deployment)
    if isinstance(model, AnthropicChatModel) and decoded.request.origin is not None:
        answer = await cancel_on_disconnect(receive, model.count_tokens(decoded.request.origin))
        if answer is None:
            return Response(status_code=499)
        return Response(answer, media_type="application/json",
                        headers={**headers, "x-llm-router-token-count": "provider"})
    texts = model.prompt_texts(decoded.request)
    if big:
        tokens, how = await off_loop(token_count.count, decoded.request, deployment.model, texts)
    else:
        tokens, how = token_count.count(decoded.request, deployment.model, texts)
    return Response(orjson.dumps({"input_tokens": tokens}), media_type="application/json",
                    headers={**headers, "x-llm-router-token-count": how})


def _display_name(model_id: str, owner: str) -> str:
    return model_id if owner in ("llm-router", "") else f"{model_id} ({owner})"


def model_list(names: Iterable[tuple[str, str]]) -> bytes:
    """``GET /v1/models`` in Anthropic's shape, for ``(name, owner)`` pairs (as
    ``Gateway.model_names`` gives them): sent when the request carries ``anthropic-version``."""
    return anthropic_wire.models((name, _display_name(name, owner)) for name, owner in names)


def models_response(names: Iterable[tuple[str, str]]) -> Response:
    """The Anthropic-shaped model list as a response."""
    return Response(model_list(names), media_type="application/json")
