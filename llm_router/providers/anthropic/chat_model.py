"""Anthropic Messages as a ChatModel."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

from llm_router.messages import ChatChunk, ChatRequest, ChatResponse, WireBody
from llm_router.providers.anthropic import passthrough, translate
from llm_router.providers.anthropic.reads import AnthropicReads
from llm_router.providers.base import HTTPChatModel, StreamTranslator


class AnthropicChatModel(HTTPChatModel):
    """``POST {base_url}/v1/messages`` with ``x-api-key`` and ``anthropic-version``."""

    provider = "anthropic"
    path = "/v1/messages"

    def headers(self) -> dict[str, str]:
        version = self.deployment.options.anthropic_version or "2023-06-01"
        return {
            "content-type": "application/json",
            "x-api-key": self.deployment.key(),
            "anthropic-version": version,
        }

    def build_body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        drop = self.deployment.options.drop_params
        return translate.request_to_body(request, stream, drop)

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        return translate.response_from_body(body)

    def stream_translator(self) -> translate.AnthropicStreamTranslator:
        return translate.AnthropicStreamTranslator()

    def _reader(self, translator: StreamTranslator) -> Callable[[bytes, list[ChatChunk]], None]:
        if type(translator) is translate.AnthropicStreamTranslator:  # not a subclass's own reading
            return AnthropicReads(translator, self.max_event_bytes).read
        return super()._reader(translator)

    def parse_error(self, body: Any) -> tuple[str | None, str]:
        return translate.error_from_body(body)

    # ----- Anthropic → Anthropic pass-through (see passthrough.py) -----
    async def send_message(self, request: ChatRequest) -> ChatResponse:
        origin = passthrough.origin_of(request)
        if origin is not None:
            return await passthrough.send(self, origin)
        return await super().send_message(request)

    async def stream_message(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        origin = passthrough.origin_of(request)
        chunks: AsyncGenerator[ChatChunk, None] = (
            passthrough.stream(self, origin) if origin else super().stream_message(request))  # type: ignore[assignment]
        async with aclosing(chunks):
            async for chunk in chunks:
                yield chunk

    async def count_tokens(self, origin: WireBody) -> bytes:
        """Anthropic's own count for the client's ``count_tokens`` body (its answer's bytes)."""
        return await passthrough.count_tokens(self, origin)
