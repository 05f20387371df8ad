"""Gemini (Google AI Studio) as a ChatModel.

``POST {base_url}/models/{model}:generateContent`` and
``:streamGenerateContent?alt=sse``; the key goes in the ``x-goog-api-key`` header and
never in the URL (a ``?key=`` query string ends up in access logs and error messages).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import orjson

from llm_router.errors import ProviderError, UpstreamProtocolError, classify_status, parse_retry_after
from llm_router.messages import ChatChunk, ChatRequest, ChatResponse, merge_chunks
from llm_router.observability.state import current_state
from llm_router.providers.base import HTTPChatModel
from llm_router.providers.gemini import translate
from llm_router.providers.gemini.stream import GeminiStreamTranslator, JsonLineDecoder
from llm_router.providers.option import option

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"



class GeminiChatModel(HTTPChatModel):
    """The Gemini API; subclasses change only where the model lives and how to sign in."""

    provider = "gemini"
    path = ""

    def headers(self) -> dict[str, str]:
        return {"content-type": "application/json", "x-goog-api-key": self.deployment.key()}

    def model_path(self) -> str:
        """The URL of the model, without the method."""
        model = self.deployment.model.removeprefix("models/")
        return f"{self.deployment.base_url.rstrip('/')}/models/{quote(model, safe='')}"

    @property
    def url(self) -> str:
        return self.model_path() + ":generateContent"

    @property
    def stream_url(self) -> str:
        """The streaming endpoint (SSE framing)."""
        return self.model_path() + ":streamGenerateContent?alt=sse"

    def build_body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        return translate.request_to_body(request, bool(option(self.deployment, "drop_params")), self.provider)

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        return translate.response_from_body(body)

    def stream_translator(self) -> GeminiStreamTranslator:
        return GeminiStreamTranslator(self.provider)

    def parse_error(self, body: Any) -> tuple[str | None, str]:
        return translate.error_from_body(body)

    def error_for(self, status: int, headers: Mapping[str, str], raw: bytes) -> ProviderError:
        """As for every provider, plus: a refused key is 400 ``API_KEY_INVALID`` on the wire
        (an auth failure here), and the wait comes from ``google.rpc.RetryInfo``."""
        try:
            body = orjson.loads(raw)
            upstream_type, message = self.parse_error(body)
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, IndexError):
            body, upstream_type, message = None, None, ""
        message = message[:2000] or f"Upstream answered HTTP {status}."
        if upstream_type == "API_KEY_INVALID":
            status = 401
        wait = parse_retry_after(headers)
        if wait is None:
            wait = translate.retry_delay(body)
        return classify_status(self.provider, status, message, upstream_type, wait)

    async def stream_message(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        body = await self.encode_body(request, stream=True)
        translator = self.stream_translator()
        try:
            async with self.http.post(self.stream_url, self.headers(), body, self.deployment.timeouts,
                                      self.provider) as upstream:
                if upstream.status != 200:
                    raise self.error_for(upstream.status, upstream.headers, await upstream.read())
                decoder = JsonLineDecoder()
                async for data in upstream.iter_chunks():
                    for chunk in _translate(translator, decoder.feed(data)):
                        yield chunk
                    if translator.done:
                        return
                for chunk in _translate(translator, decoder.close()):
                    yield chunk
                if translator.done:
                    return
        finally:
            count_skipped(translator.skipped)
        raise UpstreamProtocolError("Upstream stream ended before its final event.", provider=self.provider)


def count_skipped(skipped: int) -> None:
    """Add a stream's unreadable events to the request (``llm_router_sse_parse_errors_total``)."""
    state = current_state() if skipped else None
    if state is not None:
        state.sse_parse_errors += skipped

def _translate(translator: GeminiStreamTranslator, texts: list[str]) -> Iterator[ChatChunk]:
    """One merged chunk for the texts of one read (one read leaves as one write); what
    came before an in-band error still goes out before the error is raised."""
    pending: list[ChatChunk] = []
    try:
        for text in texts:
            pending.extend(translator.feed_json(text))
            if translator.done:
                break
    except ProviderError:
        if pending:
            yield merge_chunks(pending)
        raise
    if pending:
        yield merge_chunks(pending)
