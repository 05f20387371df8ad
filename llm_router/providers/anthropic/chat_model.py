"""Anthropic Messages as a ChatModel."""

from __future__ import annotations

from typing import Any

from llm_router.messages import ChatRequest, ChatResponse
from llm_router.providers.anthropic import translate
from llm_router.providers.base import HTTPChatModel


class AnthropicChatModel(HTTPChatModel):
    """``POST {base_url}/v1/messages`` with ``x-api-key`` and ``anthropic-version``."""

    provider = "anthropic"
    path = "/v1/messages"

    def headers(self) -> dict[str, str]:
        version = self.deployment.options.get("anthropic_version") or "2023-06-01"
        return {
            "content-type": "application/json",
            "x-api-key": self.deployment.key(),
            "anthropic-version": version,
        }

    def build_body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        drop = bool(self.deployment.options.get("drop_params"))
        return translate.request_to_body(request, stream, drop)

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        return translate.response_from_body(body)

    def stream_translator(self) -> translate.AnthropicStreamTranslator:
        return translate.AnthropicStreamTranslator()

    def parse_error(self, body: Any) -> tuple[str | None, str]:
        return translate.error_from_body(body)
