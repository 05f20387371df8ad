"""Azure OpenAI as a ChatModel: OpenAI's wire, Azure's URLs and ``api-key`` header.

``base_url`` is the resource endpoint (``https://{resource}.openai.azure.com``), optionally
with ``?api-version=...``; ``model`` is the deployment name. The dated path
``/openai/deployments/{deployment}/chat/completions?api-version=...`` is used unless the
endpoint ends in ``/openai/v1`` or the version is ``v1`` (then ``/openai/v1/chat/completions``
with the deployment named in the body). Pass-through of OpenAI-format requests is inherited.
"""

from __future__ import annotations

from typing import Any

from llm_router.errors import ProviderUnavailable
from llm_router.messages import ChatRequest
from llm_router.providers.azure import translate
from llm_router.providers.openai.chat_model import OpenAIChatModel
from llm_router.providers.option import option

#: The registry's stand-in endpoint: Azure has no default, the resource's URL must be set.
PLACEHOLDER_URL = "https://YOUR-RESOURCE.openai.azure.com"


class AzureOpenAIChatModel(OpenAIChatModel):
    """Azure OpenAI deployments."""

    provider = "azure"

    def headers(self) -> dict[str, str]:
        return {"content-type": "application/json", "api-key": self.deployment.key()}

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
