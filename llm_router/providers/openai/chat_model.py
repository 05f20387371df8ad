"""OpenAI Chat Completions (and any OpenAI-compatible server) as a ChatModel.

Pass-through: when the request came in OpenAI's own format (``request.origin`` is an
``openai`` WireBody), the client's body goes upstream as it is, fields we do not model
included; only ``model`` is replaced and ``stream``/``stream_options`` are ours. A whole
answer then comes back with ``raw`` set to the upstream bytes, for the surface to send on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from llm_router.messages import ChatChunk, ChatRequest, ChatResponse
from llm_router.providers import reasoning
from llm_router.providers.base import HTTPChatModel, StreamTranslator
from llm_router.providers.openai import responses, translate
from llm_router.providers.openai.stream import ChatStreamTranslator
from llm_router.providers.sse import SSEEvent


class OpenAIChatModel(HTTPChatModel):
    """``POST {base_url}/chat/completions`` with a Bearer key."""

    provider = "openai"
    path = "/chat/completions"
    max_tokens_field = "max_completion_tokens"

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.deployment.api_key is not None:
            headers["authorization"] = "Bearer " + self.deployment.key()
        return headers

    def build_body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        origin = request.origin
        if origin is None or origin.format != "openai":
            body = translate.request_to_body(request, stream, self.max_tokens_field)
            row = self.deployment.spec_name or self.provider
            return {**body, **(reasoning.openai_fields(row, request) or {})}
        return translate.passthrough_body(origin.body, request.model, stream, self.max_tokens_field)

    async def send_message(self, request: ChatRequest) -> ChatResponse:
        if responses.passes_through(self.provider, request):
            return await responses.send(self, request)
        raw = await self.fetch(await self.encode_body(request, stream=False))
        if request.origin is not None and request.origin.format == "openai":  # passed through
            return self.read_response(raw, lambda body: translate.response_from_body(body, raw))
        return self.read_response(raw)

    def stream_message(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        if responses.passes_through(self.provider, request):
            return responses.stream(self, request)
        return super().stream_message(request)

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        return translate.response_from_body(body)

    def stream_translator(self) -> translate.OpenAIStreamTranslator:
        return ChatStreamTranslator(self.provider, self.max_event_bytes)

    def _reader(self, translator: StreamTranslator) -> Callable[[bytes, list[ChatChunk]], None]:
        if isinstance(translator, ChatStreamTranslator):  # not a subclass's own reader (Azure)
            return translator.feed_bytes
        return super()._reader(translator)

    def _feed_read(self, translator: StreamTranslator, events: list[SSEEvent],
                   into: list[ChatChunk]) -> None:
        if isinstance(translator, ChatStreamTranslator):
            translator.feed_read(events, into)
        else:
            super()._feed_read(translator, events, into)

    def parse_error(self, body: Any) -> tuple[str | None, str]:
        return translate.error_from_body(body)


class OpenAICompatibleChatModel(OpenAIChatModel):
    """An OpenAI-compatible server (Ollama, vLLM, llama.cpp, Groq, ...): same wire,
    optional key, and the widely supported ``max_tokens`` field."""

    provider = "openai-compatible"
    max_tokens_field = "max_tokens"
