"""OpenAI Chat Completions (and any OpenAI-compatible server) as a ChatModel."""

from __future__ import annotations

from typing import Any

import orjson

from llm_router.messages import ChatRequest, ChatResponse
from llm_router.providers.base import HTTPChatModel
from llm_router.providers.openai import translate


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
        return translate.request_to_body(request, stream, self.max_tokens_field)

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        return translate.response_from_body(body)

    def stream_translator(self) -> translate.OpenAIStreamTranslator:
        return translate.OpenAIStreamTranslator(self.provider)

    def parse_error(self, body: Any) -> tuple[str | None, str]:
        return translate.error_from_body(body)

    async def send_passthrough(self, body: dict[str, Any]) -> tuple[bytes, ChatResponse]:
        """Forward a client's Chat Completions body as it is (only ``model`` replaced)
        and return the upstream answer's bytes untouched, with its canonical reading."""
        body = {**body, "model": self.deployment.model}
        body.pop("stream", None)
        return await self.exchange(orjson.dumps(body))


class OpenAICompatibleChatModel(OpenAIChatModel):
    """An OpenAI-compatible server (Ollama, vLLM, llama.cpp, Groq, ...): same wire,
    optional key, and the widely supported ``max_tokens`` field."""

    provider = "openai-compatible"
    max_tokens_field = "max_tokens"
