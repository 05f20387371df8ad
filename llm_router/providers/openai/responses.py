"""OpenAI's own ``POST {base_url}/responses``: the pass-through of a client's Responses body.

When a request came in on ``/v1/responses`` (``request.origin`` is an ``openai-responses``
WireBody) and OpenAI answers, the client's body goes upstream unchanged (only ``model``
replaced), hosted tools, reasoning items and ``previous_response_id`` included. The answer's
bytes come back as they are: a whole body in ``ChatResponse.raw``, a stream as
``ChatChunk.raw`` (the bytes of each upstream read, in order), each chunk
also read canonically (text, tool calls, finish, usage) for usage records and metrics.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import orjson

from llm_router.errors import ProviderError, UpstreamProtocolError, classify_inband
from llm_router.messages import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    FinishReason,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from llm_router.providers.events import EventTranslator, as_dict, as_int, as_list, as_str
from llm_router.providers.sse import SSEDecoder, SSEEvent

if TYPE_CHECKING:
    from llm_router.providers.openai.chat_model import OpenAIChatModel

FORMAT = "openai-responses"
#: Providers whose model sends a Responses body to ``{base_url}/responses`` as it is (not
#: OpenAI-compatible servers, nor Azure, whose URLs differ): the others get it translated.
PASSTHROUGH_PROVIDERS = frozenset({"openai"})
PATH = "/responses"


def is_responses(request: ChatRequest) -> bool:
    """The request came in on the Responses surface with its body kept."""
    return request.origin is not None and request.origin.format == FORMAT


def passes_through(provider: str, request: ChatRequest) -> bool:
    """Whether ``provider``'s model sends this request to ``/responses`` unchanged."""
    return provider in PASSTHROUGH_PROVIDERS and is_responses(request)


def body_for(request: ChatRequest, model: str, stream: bool) -> bytes:
    """The client's body for upstream: ``model`` replaced, ``stream`` ours."""
    assert request.origin is not None
    body = {k: v for k, v in request.origin.body.items() if k not in ("stream", "stream_options")}
    body["model"] = model
    if stream:
        body["stream"] = True
        options = request.origin.body.get("stream_options")
        if options is not None:
            body["stream_options"] = options
    return orjson.dumps(body)


def usage_from(value: Any) -> Usage:
    """Canonical usage from a Responses ``usage`` object."""
    usage = as_dict(value)
    cached = as_int(as_dict(usage.get("input_tokens_details")).get("cached_tokens"))
    return Usage(as_int(usage.get("input_tokens")), as_int(usage.get("output_tokens")), cached)


def finish_of(response: dict[str, Any], has_calls: bool) -> FinishReason:
    """The canonical finish reason of a ``response`` object."""
    status = response.get("status")
    if status == "incomplete":
        reason = as_dict(response.get("incomplete_details")).get("reason")
        return "content_filter" if reason == "content_filter" else "length"
    if status == "failed":
        return "error"
    return "tool_calls" if has_calls else "stop"


def response_from_body(body: dict[str, Any]) -> ChatResponse:
    """The canonical reading of a ``response`` object."""
    texts: list[str] = []
    calls: list[ToolCall] = []
    for item in as_list(body.get("output")):
        item = as_dict(item)
        if item.get("type") == "message":
            texts += [as_str(p.get("text")) for p in as_list(item.get("content"))
                      if as_dict(p).get("type") == "output_text"]
        elif item.get("type") == "function_call":
            calls.append(ToolCall(as_str(item.get("call_id")), as_str(item.get("name")),
                                  as_str(item.get("arguments"))))
    return ChatResponse(as_str(body.get("id")), as_str(body.get("model")), "".join(texts),
                        finish_of(body, bool(calls)), usage_from(body.get("usage")), tuple(calls))


class ResponsesStreamTranslator(EventTranslator):
    """Responses stream events to canonical chunks. Ends at the terminal ``response.*`` event;
    ``response.failed`` and ``error`` are in-band errors."""

    def __init__(self, provider: str = "openai") -> None:
        super().__init__()
        self.provider = provider
        self.calls: set[int] = set()

    def translate(self, event: SSEEvent) -> list[ChatChunk]:
        data = self.load(event)
        kind = data.get("type")
        if kind == "response.output_text.delta":
            return [ChatChunk(text=as_str(data.get("delta")))]
        if kind == "response.output_item.added" and as_dict(data.get("item")).get("type") == "function_call":
            index, item = as_int(data.get("output_index")), as_dict(data.get("item"))
            self.calls.add(index)
            return [ChatChunk(tool_calls=(ToolCallDelta(index, as_str(item.get("call_id")),
                                                        as_str(item.get("name"))),))]
        if kind == "response.function_call_arguments.delta":
            delta = ToolCallDelta(as_int(data.get("output_index")), arguments=as_str(data.get("delta")))
            return [ChatChunk(tool_calls=(delta,))]
        if kind in ("response.completed", "response.incomplete"):
            self.done = True
            response = as_dict(data.get("response"))
            return [ChatChunk(finish_reason=finish_of(response, bool(self.calls)),
                              usage=usage_from(response.get("usage")), id=as_str(response.get("id")),
                              model=as_str(response.get("model")))]
        if kind in ("response.failed", "error"):
            error = as_dict(as_dict(data.get("response")).get("error") or data.get("error")) or data
            raise classify_inband(self.provider, as_str(error.get("code")) or None,
                                  as_str(error.get("message")) or "The response failed.")
        return []


async def send(model: OpenAIChatModel, request: ChatRequest) -> ChatResponse:
    """A whole Responses answer, its upstream bytes in ``raw``."""
    async with _post(model, body_for(request, request.model, stream=False)) as upstream:
        raw = await upstream.read()
        if upstream.status != 200:
            raise model.error_for(upstream.status, upstream.headers, raw)
    try:
        response = response_from_body(orjson.loads(raw))
    except (orjson.JSONDecodeError, TypeError, KeyError, AttributeError, ValueError):
        raise UpstreamProtocolError("Upstream sent a malformed response body.",
                                    provider=model.provider) from None
    return ChatResponse(response.id, response.model, response.text, response.finish_reason,
                        response.usage, response.tool_calls, raw)


async def stream(model: OpenAIChatModel, request: ChatRequest) -> AsyncGenerator[ChatChunk, None]:
    """A Responses stream: one chunk per upstream read, its bytes in ``raw``."""
    translator = ResponsesStreamTranslator(model.provider)
    decoder = SSEDecoder(model.max_event_bytes)
    async with _post(model, body_for(request, request.model, stream=True)) as upstream:
        if upstream.status != 200:
            raise model.error_for(upstream.status, upstream.headers, await upstream.read())
        if not upstream.headers.get("content-type", "").startswith("text/event-stream"):
            raise UpstreamProtocolError("Upstream did not answer with an event stream.",
                                        provider=model.provider)
        async for data in upstream.iter_chunks():
            try:
                chunks = [c for event in decoder.feed(data) for c in translator.feed(event)]
            except ProviderError:
                yield ChatChunk(raw=data)  # the upstream's own failure event, for the client
                raise
            yield _merged(chunks, data)
            if translator.done:
                return
    raise UpstreamProtocolError("Upstream stream ended before its final event.", provider=model.provider)


def _merged(chunks: list[ChatChunk], data: bytes) -> ChatChunk:
    text = "".join(c.text for c in chunks)
    calls = tuple(d for c in chunks for d in c.tool_calls)
    last = next((c for c in reversed(chunks) if c.finish_reason is not None), None)
    return ChatChunk(text, calls, last.finish_reason if last else None, last.usage if last else None,
                     last.id if last else None, last.model if last else None, raw=data)


def _post(model: OpenAIChatModel, body: bytes) -> Any:
    d = model.deployment
    url = d.base_url.rstrip("/") + PATH
    return model.http.post(url, model.headers(), body, d.timeouts, model.provider)
