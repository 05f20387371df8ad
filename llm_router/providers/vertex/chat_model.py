"""Vertex AI as ChatModels: Gemini models (the Gemini wire at a project/location path) and
Anthropic's Claude models (the Messages wire through ``rawPredict``/``streamRawPredict``).

``{base}/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent``
(``:streamGenerateContent?alt=sse``) and ``.../publishers/anthropic/models/{model}:rawPredict``
(``:streamRawPredict``), where ``base`` follows the location: ``https://{location}-aiplatform.
googleapis.com/v1``, ``https://aiplatform.googleapis.com/v1`` for ``global``,
``https://aiplatform.{us|eu}.rep.googleapis.com/v1`` for the multi-regions. Signed in with
``Authorization: Bearer`` and a google-auth token (``vertex/auth.py``); a Gemini deployment with
a key uses Vertex's express mode instead (``x-goog-api-key``, no project in the path).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import orjson

from llm_router.errors import ProviderError, ProviderUnavailable, classify_status, parse_retry_after
from llm_router.messages import ChatChunk, ChatRequest, ChatResponse
from llm_router.providers.anthropic import translate as anthropic
from llm_router.providers.base import HTTPChatModel
from llm_router.providers.gemini import translate as gemini
from llm_router.providers.gemini.chat_model import GeminiChatModel
from llm_router.providers.option import option
from llm_router.providers.vertex.auth import GoogleTokens, shared_tokens

#: The registry's default base URL; it stands for "the endpoint of the configured location".
DEFAULT_URL = "https://aiplatform.googleapis.com/v1"
DEFAULT_LOCATION = "global"
ANTHROPIC_VERSION = "vertex-2023-10-16"


def base_url_for(location: str) -> str:
    """The Vertex endpoint serving ``location``."""
    if location == "global":
        return DEFAULT_URL
    if location in ("us", "eu"):
        return f"https://aiplatform.{location}.rep.googleapis.com/v1"
    return f"https://{location}-aiplatform.googleapis.com/v1"


class _Vertex:
    """Where a Vertex deployment lives and how it signs in (mixed into both models)."""

    deployment: Any
    shared: dict[str, Any]
    publisher: str

    @property
    def tokens(self) -> GoogleTokens:
        return shared_tokens(self.shared)

    def location(self) -> str:
        return str(option(self.deployment, "location") or DEFAULT_LOCATION)

    def base(self) -> str:
        url = self.deployment.base_url
        return base_url_for(self.location()) if not url or url == DEFAULT_URL else str(url).rstrip("/")

    def model_path(self) -> str:
        project = option(self.deployment, "project") or self.tokens.project
        if not project:
            raise ProviderUnavailable(f"Provider '{self.deployment.provider}' is not configured: set its "
                                      "project (VERTEXAI_PROJECT / ANTHROPIC_VERTEX_PROJECT_ID).")
        model = quote(str(self.deployment.model).removeprefix("models/"), safe="@")
        return (f"{self.base()}/projects/{quote(str(project), safe='')}/locations/"
                f"{quote(self.location(), safe='')}/publishers/{self.publisher}/models/{model}")

    def bearer(self) -> dict[str, str]:
        return {"content-type": "application/json", "authorization": "Bearer " + self.tokens.current}


class VertexGeminiChatModel(_Vertex, GeminiChatModel):
    """Gemini models on Vertex AI."""

    provider = "vertex"
    publisher = "google"

    def headers(self) -> dict[str, str]:
        return super().headers() if self.deployment.api_key is not None else self.bearer()

    def model_path(self) -> str:
        if self.deployment.api_key is not None:  # express mode: the key names the project
            model = quote(self.deployment.model.removeprefix("models/"), safe="")
            return f"{self.base()}/publishers/google/models/{model}"
        return super().model_path()

    async def send_message(self, request: ChatRequest) -> ChatResponse:
        if self.deployment.api_key is None:
            await self.tokens.ensure()
        return await super().send_message(request)

    async def stream_message(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        if self.deployment.api_key is None:
            await self.tokens.ensure()
        async for chunk in super().stream_message(request):
            yield chunk


class VertexAnthropicChatModel(_Vertex, HTTPChatModel):
    """Claude models on Vertex AI: the Messages body without ``model`` (it is in the path)
    and with ``anthropic_version: vertex-2023-10-16``."""

    provider = "vertex-anthropic"
    publisher = "anthropic"
    path = ""

    def headers(self) -> dict[str, str]:
        if self.deployment.api_key is not None:  # a ready access token, used as it is
            return {"content-type": "application/json", "authorization": "Bearer " + self.deployment.key()}
        return self.bearer()

    @property
    def url(self) -> str:
        return self.model_path() + ":rawPredict"

    def build_body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        body = anthropic.request_to_body(request, stream, bool(option(self.deployment, "drop_params")))
        body.pop("model", None)
        return {"anthropic_version": ANTHROPIC_VERSION, **body}

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        return anthropic.response_from_body(body)

    def stream_translator(self) -> anthropic.AnthropicStreamTranslator:
        return anthropic.AnthropicStreamTranslator()

    def parse_error(self, body: Any) -> tuple[str | None, str]:
        """Model errors come in Anthropic's shape, Google's front end answers in google.rpc's."""
        if isinstance(body, dict) and body.get("type") == "error":
            return anthropic.error_from_body(body)
        return gemini.error_from_body(body)

    def error_for(self, status: int, headers: Mapping[str, str], raw: bytes) -> ProviderError:
        try:
            kind, message = self.parse_error(orjson.loads(raw))
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, IndexError):
            kind, message = None, ""
        return classify_status(self.provider, status, message[:2000] or f"Upstream answered HTTP {status}.",
                               kind, parse_retry_after(headers))

    def _post(self, body: bytes) -> Any:
        # Our own encoding of a streamed request carries "stream":true (request_to_body).
        method = ":streamRawPredict" if b'"stream":true' in body else ":rawPredict"
        d = self.deployment
        return self.http.post(self.model_path() + method, self.headers(), body, d.timeouts, self.provider)

    async def send_message(self, request: ChatRequest) -> ChatResponse:
        if self.deployment.api_key is None:
            await self.tokens.ensure()
        return await super().send_message(request)

    async def stream_message(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        if self.deployment.api_key is None:
            await self.tokens.ensure()
        async for chunk in super().stream_message(request):
            yield chunk
