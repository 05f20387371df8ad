"""Cohere Chat v2 as a ChatModel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import replace
from typing import Any

from llm_router.messages import ChatChunk, ChatRequest, ChatResponse
from llm_router.providers.base import HTTPChatModel
from llm_router.providers.cohere import translate


class CohereChatModel(HTTPChatModel):
    """``POST {base_url}/v2/chat`` with a Bearer key."""

    provider = "cohere"
    path = "/v2/chat"

    def headers(self) -> dict[str, str]:
        return {
            "content-type": "application/json",
            "authorization": "Bearer " + self.deployment.key(),
        }

    def build_body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        drop = self.deployment.options.drop_params
        return translate.request_to_body(request, stream, drop)

    async def send_message(self, request: ChatRequest) -> ChatResponse:
        return translate.first_call_only(request, await super().send_message(request))

    async def stream_message(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        async with aclosing(super().stream_message(request)) as chunks:  # type: ignore[type-var]
            async for chunk in chunks:
                kept = translate.first_call_chunk(request, chunk)
                if kept is not None:
                    yield kept

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        response = translate.response_from_body(body)
        # Cohere's response names no model; report the one we asked for.
        return response if response.model else replace(response, model=self.deployment.model)

    def stream_translator(self) -> translate.CohereStreamTranslator:
        return translate.CohereStreamTranslator(self.deployment.model)

    def parse_error(self, body: Any) -> tuple[str | None, str]:
        return translate.error_from_body(body)

