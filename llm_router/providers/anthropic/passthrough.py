"""Anthropic → Anthropic: the client's Messages body goes upstream as it was sent and the
answer comes back as it came.

When ``ChatRequest.origin`` is an Anthropic body (the ``/v1/messages`` surface), the request
bytes are sent unchanged (only ``model`` is replaced, when the deployment's model differs), so
``cache_control`` on any block, ``thinking`` blocks with their ``signature``, beta fields and
anything we do not model survive byte for byte; the client's ``anthropic-beta`` and
``anthropic-version`` headers go with it. The answer is still read (usage for the ledger,
finish reason, in-band errors), but the client gets the upstream's own bytes: the JSON body
in ``ChatResponse.raw``, the stream's events in ``ChatChunk.raw``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from llm_router.errors import ProviderError, UpstreamProtocolError
from llm_router.messages import ChatChunk, ChatRequest, ChatResponse, WireBody, merge_chunks
from llm_router.observability.state import current_state
from llm_router.providers.base import StreamTranslator
from llm_router.providers.sse import SSEDecoder

if TYPE_CHECKING:
    from llm_router.providers.anthropic.chat_model import AnthropicChatModel

_BLANK_LINES = (b"\n\n", b"\r\n\r\n", b"\r\r")


def origin_of(request: ChatRequest) -> WireBody | None:
    """The client's Anthropic body, if the request came in as one."""
    origin = request.origin
    return origin if origin is not None and origin.format == "anthropic" else None


#: A client body this big gets its ``model`` replaced in its bytes rather than re-encoded.
SPLICE_BYTES = 256 * 1024
_TOP: msgspec.json.Decoder[dict[str, msgspec.Raw]] = msgspec.json.Decoder(dict[str, msgspec.Raw])


def upstream_body(origin: WireBody, model: str) -> bytes:
    """The bytes to send: the client's own when its ``model`` is already the upstream's; for a
    big body, its bytes with the one value replaced (re-encoding 100,000 messages holds the
    loop for tens of milliseconds; copying their bytes, one)."""
    if origin.raw is not None and origin.body.get("model") == model:
        return origin.raw
    if origin.raw is not None and len(origin.raw) >= SPLICE_BYTES:
        top = _TOP.decode(origin.raw)
        top["model"] = msgspec.Raw(orjson.dumps(model))
        return msgspec.json.encode(top)
    return orjson.dumps({**origin.body, "model": model})


def upstream_headers(model: AnthropicChatModel, origin: WireBody) -> dict[str, str]:
    """Our headers (key, version) with the client's ``anthropic-*`` headers over them."""
    return {**model.headers(), **origin.headers}


def _post(model: AnthropicChatModel, origin: WireBody, path: str | None = None) -> Any:
    d = model.deployment
    url = d.base_url.rstrip("/") + (path or model.path)
    body = upstream_body(origin, d.model)
    return model.http.post(url, upstream_headers(model, origin), body, d.timeouts, model.provider)


async def send(model: AnthropicChatModel, origin: WireBody) -> ChatResponse:
    """The whole answer; ``raw`` holds the upstream bytes."""
    async with _post(model, origin) as upstream:
        raw = await upstream.read()
        if upstream.status != 200:
            raise model.error_for(upstream.status, upstream.headers, raw)
    try:
        return replace(model.parse_response(orjson.loads(raw)), raw=raw)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise UpstreamProtocolError("Upstream sent a malformed response body.",
                                    provider=model.provider) from None


async def count_tokens(model: AnthropicChatModel, origin: WireBody) -> bytes:
    """``POST /v1/messages/count_tokens`` upstream; the answer's bytes."""
    async with _post(model, origin, "/v1/messages/count_tokens") as upstream:
        raw: bytes = await upstream.read()
        if upstream.status != 200:
            raise model.error_for(upstream.status, upstream.headers, raw)
    return raw


class RawFrames:
    """Splits a byte stream at SSE event boundaries, keeping each event's exact bytes. An
    event longer than ``limit`` bytes is a protocol error (memory stays bounded)."""

    def __init__(self, limit: int) -> None:
        self.buffer = b""
        self.limit = limit

    def feed(self, data: bytes) -> list[bytes]:
        """The complete events (each with its terminating blank line) that ``data`` ends."""
        self.buffer += data
        if b"\r" not in self.buffer:  # LF line ends (the usual): split at every blank line at once
            *whole, self.buffer = self.buffer.split(b"\n\n")
            if len(self.buffer) > self.limit:
                raise UpstreamProtocolError(f"Upstream sent a stream event larger than {self.limit} bytes.")
            return [frame + b"\n\n" for frame in whole]
        frames: list[bytes] = []
        while True:
            ends = [i + len(sep) for sep in _BLANK_LINES if (i := self.buffer.find(sep)) >= 0]
            if not ends:
                if len(self.buffer) > self.limit:
                    raise UpstreamProtocolError(
                        f"Upstream sent a stream event larger than {self.limit} bytes.")
                return frames
            end = min(ends)
            frames.append(self.buffer[:end])
            self.buffer = self.buffer[end:]


#: A text delta of the first block as Anthropic writes it, around its text.
TEXT_HEAD = (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
              b'"delta":{"type":"text_delta","text":"')
_TEXT_TAIL = b'"}}\n\n'
#: What a JSON string body read as it is must not hold (a quote, an escape, a control character).
UNSAFE = re.compile(rb'["\\\x00-\x1f]')


class FrameReader:
    """One stream's reads: each event's exact bytes (``raw``) and what the translator makes of
    them (``chunks``). A text delta in Anthropic's own bytes with ASCII text and nothing to
    unescape is read without the decoder or JSON (the translator's chunk, the same)."""

    def __init__(self, translator: StreamTranslator, limit: int) -> None:
        self.translator = translator
        self.frames, self.decoder = RawFrames(limit), SSEDecoder(limit)
        self.text_chunk = getattr(translator, "text_chunk", None)

    def read(self, data: bytes, raw: list[bytes], chunks: list[ChatChunk]) -> None:
        """The events ``data`` completes, up to the translator's last (an in-band error
        raises once the events before it are in ``raw`` and ``chunks``)."""
        translator, text_chunk = self.translator, self.text_chunk
        texts: list[str] = []
        least = len(TEXT_HEAD) + len(_TEXT_TAIL)
        try:
            for frame in self.frames.feed(data):
                if (text_chunk is not None and frame.startswith(TEXT_HEAD) and frame.endswith(_TEXT_TAIL)
                        and len(frame) >= least):
                    piece = frame[len(TEXT_HEAD):len(frame) - len(_TEXT_TAIL)]
                    if piece.isascii() and UNSAFE.search(piece) is None:
                        raw.append(frame)
                        if piece:
                            texts.append(piece.decode("ascii"))
                        continue
                if texts:
                    chunks.append(text_chunk("".join(texts)))  # type: ignore[misc]
                    texts = []
                for event in self.decoder.feed(frame):
                    chunks.extend(translator.feed(event))
                raw.append(frame)
                if translator.done:
                    break
        finally:
            if texts:
                chunks.append(text_chunk("".join(texts)))  # type: ignore[misc]


async def stream(model: AnthropicChatModel, origin: WireBody) -> AsyncIterator[ChatChunk]:
    """The answer as it arrives: one chunk per upstream read, carrying its events' bytes."""
    translator = model.stream_translator()
    try:
        async for chunk in _stream(model, origin, translator):
            yield chunk
    finally:
        _count_skipped(translator.skipped)


async def _stream(model: AnthropicChatModel, origin: WireBody,
                  translator: StreamTranslator) -> AsyncIterator[ChatChunk]:
    async with _post(model, origin) as upstream:
        if upstream.status != 200:
            raise model.error_for(upstream.status, upstream.headers, await upstream.read())
        if not upstream.headers.get("content-type", "").startswith("text/event-stream"):
            raise UpstreamProtocolError("Upstream did not answer with an event stream.",
                                        provider=model.provider)
        reader = FrameReader(translator, model.max_event_bytes)
        async for data in upstream.iter_chunks():
            raw: list[bytes] = []
            chunks: list[ChatChunk] = []
            try:
                reader.read(data, raw, chunks)
            except ProviderError as error:
                error.provider = error.provider or model.provider
                if raw:
                    yield _chunk(chunks, raw)  # the events before the error still go out
                raise
            if raw:
                yield _chunk(chunks, raw)
            if translator.done:
                return
    raise UpstreamProtocolError("Upstream stream ended before its final event.", provider=model.provider)


def _count_skipped(skipped: int) -> None:
    """Unreadable events count on the request (``llm_router_sse_parse_errors_total``)."""
    state = current_state()
    if skipped and state is not None:
        state.sse_parse_errors += skipped


def _chunk(chunks: list[ChatChunk], raw: list[bytes]) -> ChatChunk:
    merged = merge_chunks(chunks) if chunks else ChatChunk()
    return replace(merged, raw=b"".join(raw))
