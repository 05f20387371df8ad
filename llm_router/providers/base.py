"""ChatModel, the seed's abstract base, and HTTPChatModel, the shared I/O for providers
that speak JSON over HTTP with SSE streams. Providers supply only translation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, ClassVar, Protocol

import orjson

from llm_router.aio import off_loop
from llm_router.config.deployment import Deployment
from llm_router.errors import (
    ProviderError,
    UpstreamProtocolError,
    classify_status,
    parse_retry_after,
)
from llm_router.messages import ChatChunk, ChatRequest, ChatResponse, merge_chunks
from llm_router.observability.state import current_state
from llm_router.providers.http import UpstreamClient
from llm_router.providers.sse import MAX_EVENT_BYTES, SSEDecoder, SSEEvent

#: A request of this many messages or more is translated for its provider off the loop.
BIG_REQUEST = 1024


class ChatModel(ABC):
    """One provider deployment that can answer a chat, whole or streamed."""

    provider: ClassVar[str]
    #: True when every wait for the next stream chunk is bounded by ``timeouts.stream_idle``.
    idle_bounded: ClassVar[bool] = False

    def __init__(self, deployment: Deployment, http: UpstreamClient,
                 shared: dict[str, Any] | None = None) -> None:
        self.deployment = deployment
        self.http = http
        # Resources that outlive one request, owned by the factory (e.g. a loaded local model).
        self.shared: dict[str, Any] = {} if shared is None else shared

    @abstractmethod
    async def send_message(self, request: ChatRequest) -> ChatResponse:
        """Send the request and return the complete answer."""

    @abstractmethod
    def stream_message(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Send the request and yield the answer as it arrives. The last chunk carries
        ``finish_reason`` and ``usage``; a stream cut short raises ProviderError."""

    def prompt_texts(self, request: ChatRequest) -> list[str] | None:
        """The texts this model reads for ``request`` when we write its prompt ourselves
        (the local model's tools), for counting; None: the request's own texts."""
        return None


class StreamTranslator(Protocol):
    """Turns a provider's decoded SSE events into canonical chunks (pure, stateful; see
    ``providers/events.py``). ``skipped`` counts events it could not read."""

    done: bool
    skipped: int

    def feed(self, event: SSEEvent) -> list[ChatChunk]:
        """Chunks for one event; raises ProviderError for an in-band error event."""
        ...


class HTTPChatModel(ChatModel):
    """I/O shared by the HTTP providers: POST, status check, JSON or SSE decoding."""

    path: ClassVar[str]
    idle_bounded: ClassVar[bool] = True
    #: The largest single SSE event accepted from upstream (UpstreamProtocolError beyond).
    max_event_bytes: ClassVar[int] = MAX_EVENT_BYTES

    @abstractmethod
    def headers(self) -> dict[str, str]:
        """Request headers, including the provider key."""

    @abstractmethod
    def build_body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        """The provider's request body for ``request``."""

    @abstractmethod
    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        """The canonical response for the provider's JSON body."""

    @abstractmethod
    def stream_translator(self) -> StreamTranslator:
        """A fresh translator for one stream."""

    @abstractmethod
    def parse_error(self, body: Any) -> tuple[str | None, str]:
        """The provider's error type and message from a decoded error body."""

    async def encode_body(self, request: ChatRequest, stream: bool) -> bytes:
        """The encoded body for ``request``: translated off the loop when the request is long
        (``BIG_REQUEST`` messages or more; bad-input matrix I8)."""
        if len(request.messages) >= BIG_REQUEST:
            return await off_loop(self.encode, request, stream)
        return self.encode(request, stream)

    def encode(self, request: ChatRequest, stream: bool) -> bytes:
        """The encoded body for ``request``, here."""
        return orjson.dumps(self.build_body(request, stream))

    @property
    def url(self) -> str:
        """The full endpoint URL."""
        return self.deployment.base_url.rstrip("/") + self.path

    async def send_message(self, request: ChatRequest) -> ChatResponse:
        _, response = await self.exchange(await self.encode_body(request, stream=False))
        return response

    async def exchange(self, body: bytes) -> tuple[bytes, ChatResponse]:
        """POST an already-encoded body; the raw answer and its canonical reading."""
        raw = await self.fetch(body)
        return raw, self.read_response(raw)

    async def fetch(self, body: bytes) -> bytes:
        """POST an already-encoded body; the answer's bytes (a ProviderError unless 200)."""
        async with self._post(body) as upstream:
            raw: bytes = await upstream.read()
            if upstream.status != 200:
                raise self.error_for(upstream.status, upstream.headers, raw)
        return raw

    def read_response(self, raw: bytes,
                      parse: Callable[[dict[str, Any]], ChatResponse] | None = None) -> ChatResponse:
        """The canonical reading of an answer's bytes (``parse``, or ``parse_response``)."""
        try:
            return (parse or self.parse_response)(orjson.loads(raw))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            raise UpstreamProtocolError(
                "Upstream sent a malformed response body.", provider=self.provider
            ) from None

    async def stream_message(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        body = await self.encode_body(request, stream=True)
        translator = self.stream_translator()
        try:
            async with self._post(body) as upstream:
                if upstream.status != 200:
                    raise self.error_for(upstream.status, upstream.headers, await upstream.read())
                if not upstream.headers.get("content-type", "").startswith("text/event-stream"):
                    raise UpstreamProtocolError(
                        "Upstream did not answer with an event stream.", provider=self.provider
                    )
                # One read leaves as one chunk (one write downstream), read here rather than
                # in a generator of its own: one generator fewer per read.
                read = self._reader(translator)
                async for data in upstream.iter_chunks():
                    pending: list[ChatChunk] = []
                    try:
                        read(data, pending)
                    except ProviderError as error:
                        error.provider = error.provider or self.provider
                        if pending:
                            yield merge_chunks(pending)  # what came before the error still counts
                        raise
                    if pending:
                        yield merge_chunks(pending)
                    if translator.done:
                        return
        finally:
            _count_skipped(translator.skipped)
        raise UpstreamProtocolError(
            "Upstream stream ended before its final event.", provider=self.provider
        )

    def _reader(self, translator: StreamTranslator) -> Callable[[bytes, list[ChatChunk]], None]:
        """What translates one upstream read into chunks (``into``): the SSE decoder, then
        :meth:`_feed_read`. A provider that reads the bytes itself returns its own."""
        decoder = SSEDecoder(self.max_event_bytes)

        def read(data: bytes, into: list[ChatChunk]) -> None:
            self._feed_read(translator, decoder.feed(data), into)

        return read

    def _feed_read(self, translator: StreamTranslator, events: list[SSEEvent],
                   into: list[ChatChunk]) -> None:
        """Translate one read's events into ``into``, up to the translator's last event."""
        for event in events:
            into.extend(translator.feed(event))
            if translator.done:
                break

    def _post(self, body: bytes) -> Any:
        d = self.deployment
        return self.http.post(self.url, self.headers(), body, d.timeouts, self.provider)

    def error_for(self, status: int, headers: Mapping[str, str], raw: bytes) -> ProviderError:
        """Classify a non-200 answer: status first, then the provider's error type."""
        try:
            upstream_type, message = self.parse_error(orjson.loads(raw))
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            upstream_type, message = None, f"Upstream answered HTTP {status}."
        message = message[:2000] if message else f"Upstream answered HTTP {status}."
        return classify_status(
            self.provider, status, message, upstream_type, parse_retry_after(headers)
        )


def _count_skipped(skipped: int) -> None:
    """Add a stream's skipped events to the request (``llm_router_sse_parse_errors_total``)."""
    if skipped:
        state = current_state()
        if state is not None:
            state.sse_parse_errors += skipped
