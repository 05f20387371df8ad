"""AWS Bedrock (Converse API) as a ChatModel.

``POST {base_url}/model/{modelId}/converse`` and ``/converse-stream`` (the model id, a
foundation model, a cross-region inference profile such as ``us.anthropic.claude-...`` or
an ARN, is one percent-encoded path segment). Requests are signed with botocore's SigV4
signer (service ``bedrock``) using credentials from botocore's usual chain (environment,
shared files, SSO, container and instance roles), resolved once off the request path and
refreshed in a worker thread when they are about to expire. A deployment key
(``AWS_BEARER_TOKEN_BEDROCK``, a Bedrock API key) is sent as ``Authorization: Bearer``
instead. The stream is AWS's binary event stream, decoded with botocore's parser. botocore
is imported when a Bedrock deployment is first used (``providers/bedrock/aws.py``), not before.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

import orjson
from yarl import URL

from llm_router.errors import (
    ProviderError,
    UpstreamProtocolError,
    UpstreamServerError,
    classify_status,
    parse_retry_after,
)
from llm_router.messages import ChatChunk, ChatRequest, ChatResponse, merge_chunks
from llm_router.observability.state import current_state
from llm_router.providers.base import HTTPChatModel
from llm_router.providers.bedrock import translate
from llm_router.providers.option import option

if TYPE_CHECKING:
    from botocore.eventstream import EventStreamMessage

    from llm_router.providers.bedrock.aws import Aws, EventFrames

DEFAULT_REGION = "us-east-1"
HOST_REGION = re.compile(r"bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com")
EVENT_STREAM = "application/vnd.amazon.eventstream"
#: The registry's default endpoint; standing for "the endpoint of the configured region".
DEFAULT_URL = "https://bedrock-runtime.us-east-1.amazonaws.com"
EXPIRED = frozenset({"ExpiredTokenException", "ExpiredToken", "UnrecognizedClientException"})


def default_base_url(region: str) -> str:
    """The Bedrock runtime endpoint of ``region``."""
    return f"https://bedrock-runtime.{region}.amazonaws.com"


class BedrockChatModel(HTTPChatModel):
    """Bedrock Converse / ConverseStream."""

    provider = "bedrock"
    path = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._aws: Aws | None = None
        self._region: str | None = None

    @property
    def aws(self) -> Aws:
        """botocore's part, imported on first use: the factory builds a model for every usable
        deployment at start-up (Bedrock's environment row among them), most never called."""
        if self._aws is None:
            from llm_router.providers.bedrock.aws import Aws

            self._aws = Aws()
        return self._aws

    # ----- where and who -----
    def region(self) -> str:
        """From an endpoint that was set, else the ``region`` option (AWS_REGION), else
        botocore's configuration (AWS_DEFAULT_REGION, the profile), else us-east-1."""
        if self._region is None:
            url = self.deployment.base_url
            found = HOST_REGION.search(url) if url and url != DEFAULT_URL else None
            self._region = (found.group(1) if found else None) or option(self.deployment, "region") \
                or self.aws.configured_region() or DEFAULT_REGION
        return self._region

    def model_url(self, operation: str) -> str:
        """The URL of ``operation`` (``converse`` or ``converse-stream``) for this model, as
        the HTTP client will send it: yarl turns ``%3A`` back into ``:`` (``/`` in an ARN
        stays ``%2F``), and the signature must be computed over the path that is sent."""
        model = quote(self.deployment.model, safe="")
        url = self.deployment.base_url
        base = default_base_url(self.region()) if not url or url == DEFAULT_URL else url
        return str(URL(f"{base.rstrip('/')}/model/{model}/{operation}"))

    @property
    def url(self) -> str:
        return self.model_url("converse")

    def headers(self) -> dict[str, str]:
        """Unsigned headers; ``signed_headers`` adds the authorization."""
        return {"content-type": "application/json"}

    async def signed_headers(self, url: str, body: bytes) -> dict[str, str]:
        """Headers for one request: a Bearer API key, or a fresh SigV4 signature."""
        headers = self.headers()
        if self.deployment.api_key is not None:
            headers["authorization"] = "Bearer " + self.deployment.key()
            return headers
        return await self.aws.sign(url, body, headers, self.region())

    # ----- translation -----
    def build_body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        return translate.request_to_body(request, bool(option(self.deployment, "drop_params")))

    def parse_response(self, body: dict[str, Any]) -> ChatResponse:
        return translate.response_from_body(body)

    def stream_translator(self) -> translate.BedrockStreamTranslator:  # type: ignore[override]
        return translate.BedrockStreamTranslator(self.provider)

    def parse_error(self, body: Any) -> tuple[str | None, str]:
        return translate.error_type(None, body), translate.error_message(body)

    def error_for(self, status: int, headers: Mapping[str, str], raw: bytes) -> ProviderError:
        """Status first, the exception name from ``x-amzn-ErrorType`` (or the body) second;
        424 ``ModelErrorException`` is the model failing, a retryable server error."""
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        kind = translate.error_type(headers.get("x-amzn-errortype"), body)
        message = translate.error_message(body)[:2000] or f"Upstream answered HTTP {status}."
        if kind in EXPIRED:
            self.aws.forget()  # resolved again on the next request
        error = classify_status(self.provider, 500 if status == 424 else status, message, kind,
                                parse_retry_after(headers))
        error.status = status
        return error

    # ----- I/O -----
    async def exchange(self, body: bytes) -> tuple[bytes, ChatResponse]:
        url = self.url
        headers = await self.signed_headers(url, body)
        async with self.http.post(url, headers, body, self.deployment.timeouts, self.provider) as upstream:
            raw = await upstream.read()
            if upstream.status != 200:
                raise self.error_for(upstream.status, upstream.headers, raw)
        try:
            return raw, self.parse_response(orjson.loads(raw))
        except (orjson.JSONDecodeError, *translate.SHAPE_ERRORS):
            raise UpstreamProtocolError("Upstream sent a malformed response body.",
                                        provider=self.provider) from None

    async def stream_message(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        body = await self.encode_body(request, stream=True)
        url = self.model_url("converse-stream")
        headers = await self.signed_headers(url, body)
        translator, timeouts = self.stream_translator(), self.deployment.timeouts
        try:
            async with self.http.post(url, headers, body, timeouts, self.provider) as upstream:
                if upstream.status != 200:
                    raise self.error_for(upstream.status, upstream.headers, await upstream.read())
                if not upstream.headers.get("content-type", "").startswith(EVENT_STREAM):
                    raise UpstreamProtocolError("Upstream did not answer with an event stream.",
                                                provider=self.provider)
                frames = self.aws.frames(self.provider)
                async for data in upstream.iter_chunks():
                    for chunk in self._frames(frames, data, translator):
                        yield chunk
                    if translator.done:
                        return
        finally:
            state = current_state() if translator.skipped else None
            if state is not None:
                state.sse_parse_errors += translator.skipped
        raise UpstreamProtocolError("Upstream stream ended before its final event.", provider=self.provider)

    def _frames(self, frames: EventFrames, data: bytes,
                translator: translate.BedrockStreamTranslator) -> Iterator[ChatChunk]:
        """One merged chunk for the frames completed by one read; what came before an
        exception frame (or a corrupt frame) still goes out before the error."""
        pending: list[ChatChunk] = []
        try:
            for message in frames.feed(data):
                pending.extend(self._frame(message, translator))
                if translator.done:
                    break
        except ProviderError:
            if pending:
                yield merge_chunks(pending)
            raise
        if pending:
            yield merge_chunks(pending)

    def _frame(self, message: EventStreamMessage,
               translator: translate.BedrockStreamTranslator) -> list[ChatChunk]:
        headers = cast(dict[str, Any], message.headers)  # the stubs call it an int
        kind = headers.get(":message-type")
        if kind == "event":
            return translator.feed_event(str(headers.get(":event-type")), message.payload)
        if kind == "exception":
            try:
                text = translate.error_message(orjson.loads(message.payload))
            except orjson.JSONDecodeError:
                text = ""
            raise translate.stream_exception(self.provider, str(headers.get(":exception-type")), text)
        message_text = str(headers.get(":error-message") or "Upstream stream error.")[:2000]
        raise UpstreamServerError(message_text, provider=self.provider,
                                  upstream_type=str(headers.get(":error-code") or "") or None)
