"""The Responses surface: ``POST /v1/responses`` in OpenAI's wire format, for every provider.

OpenAI deployments get the client's body as it is (pass-through: hosted tools, reasoning
items, ``previous_response_id`` and ``store`` are OpenAI's business) and the client gets
OpenAI's bytes back. Every other provider gets the request translated through the canonical
types; what that loses (hosted tools, reasoning items, OpenAI-only parameters) is dropped and
named in ``x-llm-router-dropped-params``. Only what cannot be dropped is a 400 naming it: a
``tool_choice`` forcing a hosted tool, a ``file_id`` image, an input item type without a
canonical equivalent.

State: this gateway keeps no responses (yet), so ``previous_response_id`` is a 400 naming the
parameter unless every deployment the model name may reach is OpenAI (which keeps its own);
``store`` is echoed and nothing is kept.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator

import orjson
from starlette.responses import Response
from starlette.types import Receive

from llm_router.api.errors import describe
from llm_router.api.responses_schema import Decoded, decode, parse_request
from llm_router.api.responses_wire import (
    Envelope,
    StreamEncoder,
    echo_fields,
    encode_response,
    function_tools,
)
from llm_router.api.streaming import StreamBody, cancel_on_disconnect
from llm_router.errors import InvalidRequest, ProviderError, RouterError
from llm_router.gateway import ChatStream, Gateway, Outcome
from llm_router.observability.state import current_request_id
from llm_router.policies.base import RequestContext

log = logging.getLogger("llm_router.responses")
DROPPED_HEADER = "x-llm-router-dropped-params"
#: Providers whose model sends a Responses body upstream as it is.
PASSTHROUGH = frozenset({"openai"})


async def handle_responses(gateway: Gateway, ctx: RequestContext, raw: bytes, receive: Receive) -> Response:
    """``POST /v1/responses``, whole or streamed."""
    body = parse_request(raw)
    decoded = decode(body, orjson.loads(raw))
    if _may_translate(gateway, body.model):
        if decoded.blocker is not None:
            raise decoded.blocker
        if body.previous_response_id is not None:
            raise InvalidRequest(
                f"Previous response with id '{body.previous_response_id[:100]}' not found: this gateway "
                "keeps no responses for this model; send the whole conversation in 'input'.",
                "previous_response_id", code="previous_response_not_found")
    origin = decoded.request.origin.body if decoded.request.origin else {}
    envelope = Envelope("resp_" + secrets.token_hex(24), body.model,
                        echo_fields(origin, function_tools(origin)))
    if body.stream:
        stream = await cancel_on_disconnect(receive, gateway.stream(body.model, decoded.request, ctx))
        if stream is None:
            return Response(status_code=499)
        envelope.model = stream.outcome.deployment.model
        return StreamBody(_sse(stream, StreamEncoder(envelope)), "text/event-stream",
                          _headers(stream.outcome, decoded, ctx))
    result = await cancel_on_disconnect(receive, gateway.chat(body.model, decoded.request, ctx))
    if result is None:
        return Response(status_code=499)
    response, outcome = result
    envelope.model = outcome.deployment.model
    payload = response.raw or orjson.dumps(encode_response(response, envelope))
    return Response(payload, media_type="application/json", headers=_headers(outcome, decoded, ctx))


def _may_translate(gateway: Gateway, name: str) -> bool:
    """Whether a deployment this name may reach is not a Responses pass-through."""
    router = gateway.router
    route = router.config.routes.get(name)
    try:
        names = list(route.deployments) if route is not None else [router.factory.resolve(name).name]
        providers = {router.factory.deployments[n].provider if n in router.factory.deployments
                     else router.factory.resolve(n).provider for n in names}
    except RouterError:
        return True  # the gateway says why when it routes
    return not providers <= PASSTHROUGH


def _headers(outcome: Outcome, decoded: Decoded, ctx: RequestContext) -> dict[str, str]:
    headers = {"x-llm-router-deployment": outcome.deployment.name,
               "x-llm-router-attempts": str(outcome.attempts)}
    if decoded.dropped and outcome.deployment.provider not in PASSTHROUGH:
        ctx.response_headers[DROPPED_HEADER] = ",".join(decoded.dropped)
    return headers


async def _sse(stream: ChatStream, encoder: StreamEncoder) -> AsyncIterator[bytes]:
    """The client's events: the upstream's own bytes for a pass-through, encoded otherwise."""
    started = passthrough = False
    try:
        async for chunk in stream:
            if not started:
                started, passthrough = True, chunk.raw is not None
                if not passthrough:
                    yield encoder.start()
            frame = (chunk.raw or b"") if passthrough else encoder.encode(chunk)
            if frame:
                yield frame
    except ProviderError as exc:
        info = describe(exc)
        log.warning("stream failed after it began request_id=%s type=%s", current_request_id(), info.type)
        if not passthrough:
            head = b"" if started else encoder.start()
            yield head + encoder.fail(info.code or info.type, info.message)
