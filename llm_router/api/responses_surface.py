"""The Responses surface: ``POST /v1/responses`` in OpenAI's wire format, for every provider.

OpenAI deployments get the client's body as it is (pass-through: hosted tools, reasoning
items, ``previous_response_id`` and ``store`` are OpenAI's business) and the client gets
OpenAI's bytes back. Every other provider gets the request translated through the canonical
types; what that loses (hosted tools, reasoning items, OpenAI-only parameters) is dropped and
named in ``x-llm-router-dropped-params``. Only what cannot be dropped is a 400 naming it: a
``tool_choice`` forcing a hosted tool, a ``file_id`` image, an input item type without a
canonical equivalent.

State (``api/responses_state.py``): with a database, a translated response whose request did
not say ``store: false`` is kept, ``previous_response_id`` chains to it (its conversation is
put in front of the new ``input``, for any provider) and ``GET /v1/responses/{id}`` returns it.
A ``previous_response_id`` that is not kept here is passed on when every deployment the model
name may reach is OpenAI (OpenAI keeps its own), and is otherwise a 400 naming the parameter.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive

from llm_router.aio import off_loop
from llm_router.api import responses_state as state
from llm_router.api.body import is_big
from llm_router.api.errors import describe
from llm_router.api.responses_schema import Decoded, ResponsesIn, decode, read_request
from llm_router.api.responses_wire import (
    Envelope,
    StreamEncoder,
    echo_fields,
    encode_response,
    function_tools,
)
from llm_router.api.streaming import StreamBody, cancel_on_disconnect
from llm_router.errors import ProviderError, RouterError
from llm_router.gateway import ChatStream, Gateway, Outcome
from llm_router.observability.state import current_request_id
from llm_router.policies.base import RequestContext
from llm_router.providers.openai.responses import PASSTHROUGH_PROVIDERS
from llm_router.storage.responses import StoredResponse

log = logging.getLogger("llm_router.responses")
DROPPED_HEADER = "x-llm-router-dropped-params"
PASSTHROUGH = PASSTHROUGH_PROVIDERS


@dataclass(slots=True)
class _Call:
    """One request, ready to route."""

    body: ResponsesIn
    decoded: Decoded
    data: dict[str, Any]
    previous: str | None
    keep: Keeper | None

    def envelope(self, model: str) -> Envelope:
        """What a translated answer's ``response`` objects share (a pass-through needs none)."""
        echo = echo_fields(self.data, function_tools(self.data)) | {"previous_response_id": self.previous}
        return Envelope("resp_" + secrets.token_hex(24), model, echo)


async def handle_responses(gateway: Gateway, ctx: RequestContext, raw: bytes, receive: Receive) -> Response:
    """``POST /v1/responses``, whole or streamed."""
    call = await _prepare(gateway, ctx, raw)
    name, request = call.body.model, call.decoded.request
    if call.body.stream:
        stream = await cancel_on_disconnect(receive, gateway.stream(name, request, ctx))
        if stream is None:
            return Response(status_code=499)
        encoder = StreamEncoder(call.envelope(stream.outcome.deployment.model))
        return StreamBody(_sse(stream, encoder, call.keep), "text/event-stream",
                          _headers(stream.outcome, call.decoded, ctx))
    result = await cancel_on_disconnect(receive, gateway.chat(name, request, ctx))
    if result is None:
        return Response(status_code=499)
    response, outcome = result
    headers = _headers(outcome, call.decoded, ctx)
    if response.raw is not None:
        return Response(response.raw, media_type="application/json", headers=headers)
    answer = encode_response(response, call.envelope(outcome.deployment.model))
    if call.keep is not None:
        await call.keep(answer)
    return Response(orjson.dumps(answer), media_type="application/json", headers=headers)


async def _prepare(gateway: Gateway, ctx: RequestContext, raw: bytes) -> _Call:
    """Validate and decode; chain a stored previous response; refuse what cannot be sent."""
    big = is_big(raw)
    body, data = await off_loop(read_request, raw) if big else read_request(raw)
    previous, translated = body.previous_response_id, _may_translate(gateway, body.model)
    store, owner = gateway.response_store, ctx.principal.key_id
    chained = await state.history(store, previous, owner) if previous is not None else None
    if chained is not None:  # the stored conversation goes in front of the new input
        data = {k: v for k, v in data.items() if k != "previous_response_id"}
        data["input"] = [*chained, *state.input_items(body.input)]
        body = body.model_copy(update={"input": data["input"], "previous_response_id": None})
    elif previous is not None and translated:
        raise state.not_found(previous)
    decoded = await off_loop(decode, body, data) if big else decode(body, data)
    if translated and decoded.blocker is not None:
        raise decoded.blocker
    keep = None
    if store is not None and body.store is not False:
        keep = _keeper(store, owner, body.model, state.input_items(body.input))
    return _Call(body, decoded, data, previous, keep)


Keeper = Callable[[dict[str, Any]], Awaitable[None]]


def _keeper(store: state.Store, owner: str | None, model: str, items: list[dict[str, Any]]) -> Keeper:
    """Keeps a final response with its conversation (input items, then its output)."""

    async def keep(response: dict[str, Any]) -> None:
        await store.put(StoredResponse(response["id"], owner, model, [*items, *response["output"]], response))

    return keep


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
    if outcome.deployment.provider not in PASSTHROUGH:
        dropped = decoded.dropped_on(outcome.deployment)
        if dropped:
            ctx.response_headers[DROPPED_HEADER] = ",".join(dropped)
    return headers


async def _sse(stream: ChatStream, encoder: StreamEncoder, keep: Keeper | None) -> AsyncIterator[bytes]:
    """The client's events: the upstream's own bytes for a pass-through, encoded otherwise
    (a kept response is stored before its terminal event leaves)."""
    started = passthrough = False
    try:
        async for chunk in stream:
            if not started:
                started, passthrough = True, chunk.raw is not None
                if not passthrough:
                    yield encoder.start()
            frame = (chunk.raw or b"") if passthrough else encoder.encode(chunk)
            if keep is not None and encoder.final is not None:
                await keep(encoder.final)
                keep = None
            if frame:
                yield frame
    except ProviderError as exc:
        info = describe(exc)
        log.warning("stream failed after it began request_id=%s type=%s", current_request_id(), info.type)
        if not passthrough:
            head = b"" if started else encoder.start()
            yield head + encoder.fail(info.code or info.type, info.message)
