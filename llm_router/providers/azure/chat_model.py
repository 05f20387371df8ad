"""Azure OpenAI as a ChatModel: OpenAI's wire, Azure's URLs and ``api-key`` header.

``base_url`` is the resource endpoint (``https://{resource}.openai.azure.com``), optionally
with ``?api-version=...``; ``model`` is the deployment name. The dated path
``/openai/deployments/{deployment}/chat/completions?api-version=...`` is used unless the
endpoint ends in ``/openai/v1`` or the version is ``v1`` (then ``/openai/v1/chat/completions``
with the deployment named in the body). Pass-through of OpenAI-format requests is inherited.
Credentials: the ``api-key`` header when a key is set, else Microsoft Entra ID as
``Authorization: Bearer``: a static ``azure_ad_token`` or, with ``azure_auth: entra``, tokens
from azure-identity refreshed off the request path (``providers/azure/auth.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from llm_router.errors import ProviderUnavailable
from llm_router.messages import ChatChunk, ChatRequest, ChatResponse
from llm_router.providers.azure import translate
from llm_router.providers.azure.auth import EntraTokens, shared_tokens
from llm_router.providers.openai.chat_model import OpenAIChatModel
from llm_router.providers.option import option

#: The registry's stand-in endpoint: Azure has no default, the resource's URL must be set.
PLACEHOLDER_URL = "https://YOUR-RESOURCE.openai.azure.com"


class AzureOpenAIChatModel(OpenAIChatModel):
    """Azure OpenAI deployments."""

    provider = "azure"

    def headers(self) -> dict[str, str]:
        if self.deployment.api_key is not None:
            return {"content-type": "application/json", "api-key": self.deployment.key()}
        token = option(self.deployment, "azure_ad_token") or (self.tokens.current if self.entra else "")
        return {"content-type": "application/json", "authorization": "Bearer " + token}

    @property
    def entra(self) -> bool:
        """Tokens come from azure-identity (no key, no static token, ``azure_auth: entra``)."""
        d = self.deployment
        return d.api_key is None and not option(d, "azure_ad_token") and option(d, "azure_auth") == "entra"

    @property
    def tokens(self) -> EntraTokens:
        return shared_tokens(self.shared)

    async def send_message(self, request: ChatRequest) -> ChatResponse:
        if self.entra:
            await self.tokens.ensure()
        return await super().send_message(request)

    async def stream_message(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        if self.entra:
            await self.tokens.ensure()
        async for chunk in super().stream_message(request):
            yield chunk

    @property
    def url(self) -> str:
        if not self.deployment.base_url or self.deployment.base_url == PLACEHOLDER_URL:
            raise ProviderUnavailable("Provider 'azure' is not configured: set AZURE_BASE_URL (the "
                                      "resource endpoint, https://NAME.openai.azure.com) or a base_url.")
        endpoint, version = translate.split_endpoint(self.deployment.base_url)
        version = option(self.deployment, "api_version") or version
        return translate.chat_url(endpoint, self.deployment.model, version)

    def build_body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        body = super().build_body(request, stream)
        body["model"] = self.deployment.model  # the v1 path finds the deployment by this name
        return body

    def stream_translator(self) -> translate.AzureStreamTranslator:
        return translate.AzureStreamTranslator(self.provider)

    def parse_error(self, body: Any) -> tuple[str | None, str]:
        return translate.error_from_body(body)
