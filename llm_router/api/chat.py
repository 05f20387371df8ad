"""The seed's surface: ``POST /chat/`` with ``message``, ``chat_model_name``, ``stream``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.responses import Response
from starlette.types import Receive

from llm_router.api.body import parse_body
from llm_router.api.errors import describe, error_body
from llm_router.api.streaming import RESUMED_TRAILER, StreamAborted, StreamBody, cancel_on_disconnect
from llm_router.errors import ProviderError
from llm_router.gateway import ChatStream, Gateway, Outcome
from llm_router.messages import ChatRequest, Message, Usage
from llm_router.observability.state import current_request_id
from llm_router.policies.base import RequestContext
from llm_router.providers.sse import encode_event

log = logging.getLogger("llm_router.chat")


class ChatBody(BaseModel):
    """The ``/chat/`` request body."""

    model_config = ConfigDict(extra="ignore")

    message: str = Field(min_length=1, description="The chat message to send.")
    chat_model_name: str = Field(min_length=1, description="openai, anthropic, cohere or provider/model.")
    stream: StrictBool = False
    system: str | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, gt=0)

    def to_request(self) -> ChatRequest:
        """The canonical request (model is filled in by the gateway)."""
        messages = [Message("user", self.message)]
        if self.system:
            messages.insert(0, Message("system", self.system))
        return ChatRequest(model="", messages=tuple(messages), temperature=self.temperature,
                           max_tokens=self.max_tokens)


def _headers(outcome: Outcome) -> dict[str, str]:
    return {"x-llm-router-deployment": outcome.deployment.name,
            "x-llm-router-attempts": str(outcome.attempts)}


def _usage(usage: Usage | None) -> dict[str, int | bool]:
    usage = usage or Usage()
    wire: dict[str, int | bool] = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
    if usage.estimated:  # the upstream reported none: our estimate, never zeros passed off as real
        wire["estimated"] = True
    if usage.cached:  # served from the response cache
        wire["cached"] = True
    return wire


async def handle_chat(gateway: Gateway, ctx: RequestContext, raw: bytes, receive: Receive) -> Response:
    """``POST /chat/``: send one message to the named model; answer as JSON or a stream
    (SSE when the client accepts ``text/event-stream``, plain text otherwise)."""
    body = parse_body(ChatBody, raw)
    accept = ctx.headers.get("accept", "")
    if body.stream:
        opening = gateway.stream(body.chat_model_name, body.to_request(), ctx)
        stream = await cancel_on_disconnect(receive, opening)
        if stream is None:
            return Response(status_code=499)
        if "text/event-stream" in accept:
            return StreamBody(_sse_body(stream), "text/event-stream", _headers(stream.outcome))
        return StreamBody(_text_body(stream), "text/plain; charset=utf-8", _headers(stream.outcome))
    result = await cancel_on_disconnect(receive, gateway.chat(body.chat_model_name, body.to_request(), ctx))
    if result is None:
        return Response(status_code=499)
    response, outcome = result
    payload = {
        "response": response.text,
        "chat_model_name": body.chat_model_name,
        "model": response.model or outcome.deployment.model,
        "finish_reason": response.finish_reason,
        "usage": _usage(response.usage),
    }
    return Response(orjson.dumps(payload), media_type="application/json", headers=_headers(outcome))


async def _text_body(stream: ChatStream) -> AsyncIterator[bytes]:
    try:
        async for chunk in stream:
            if chunk.text:
                yield chunk.text.encode()
    except ProviderError as exc:
        log.warning("stream failed after it began request_id=%s type=%s: %s",
                    current_request_id(), exc.type, describe(exc).message)
        raise StreamAborted from None


async def _sse_body(stream: ChatStream) -> AsyncIterator[bytes]:
    try:
        async for chunk in stream:
            if chunk.text:
                yield encode_event(orjson.dumps({"delta": chunk.text}))
            if chunk.finish_reason is not None:
                done = {"finish_reason": chunk.finish_reason, "usage": _usage(chunk.usage)}
                yield encode_event(orjson.dumps(done), "done")
        if stream.resumed:  # went on elsewhere midway (routing/resume.py); headers are gone
            yield RESUMED_TRAILER
    except ProviderError as exc:
        log.warning("stream failed after it began request_id=%s type=%s", current_request_id(), exc.type)
        yield encode_event(error_body(describe(exc), "chat", current_request_id()), "error")
