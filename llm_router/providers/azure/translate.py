"""Pure translation for Azure OpenAI: OpenAI's Chat Completions, plus what Azure adds.

Wire format: https://learn.microsoft.com/azure/ai-foundry/openai/reference and the content
filtering page. Bodies are OpenAI's (``providers/openai/translate.py`` is reused); Azure
adds ``prompt_filter_results`` / ``content_filter_results`` annotations, a first stream chunk
with ``choices: []`` and an empty ``id``, late annotation chunks, a 400 ``content_filter``
error for a filtered prompt and error codes that are strings (``"429"``, ``DeploymentNotFound``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from llm_router.errors import UpstreamBadRequest, UpstreamRateLimited, UpstreamServerError
from llm_router.messages import ChatChunk
from llm_router.providers.openai.translate import OpenAIStreamTranslator
from llm_router.providers.sse import SSEEvent

#: The latest GA version of the dated API, used when none is configured.
DEFAULT_API_VERSION = "2024-10-21"
#: Azure error codes that mean the service failed (retryable), not the request.
SERVER_CODES = frozenset({"InternalServerError", "ServiceUnavailable", "500", "502", "503", "504", "408",
                          "Timeout", "timeout"})
#: Filter categories whose ``filtered: true`` means the text was withheld.
FILTER_KEYS = ("hate", "sexual", "violence", "self_harm", "jailbreak", "indirect_attack",
               "protected_material_text", "protected_material_code", "profanity", "custom_blocklists")


def chat_url(endpoint: str, deployment: str, api_version: str | None) -> str:
    """The chat completions URL. ``api_version`` ``"v1"`` (or an endpoint already ending in
    ``/openai/v1``) selects the v1 path, where the deployment is named in the body; anything
    else the dated deployment path with ``?api-version=``."""
    base = endpoint.rstrip("/")
    if base.endswith("/openai/v1"):
        return base + "/chat/completions"
    if api_version == "v1":
        return base.removesuffix("/openai") + "/openai/v1/chat/completions"
    version = quote(api_version or DEFAULT_API_VERSION, safe="")
    name = quote(deployment, safe="")
    return f"{base.removesuffix('/openai')}/openai/deployments/{name}/chat/completions?api-version={version}"


def split_endpoint(base_url: str) -> tuple[str, str | None]:
    """An endpoint and the ``api-version`` written into it (``https://x.openai.azure.com?api-version=...``)."""
    head, _, query = base_url.partition("?")
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == "api-version" and value:
            return head, value
    return head, None


def filtered_categories(results: Any) -> list[str]:
    """The categories marked ``filtered`` in a ``content_filter_results`` object."""
    if not isinstance(results, dict):
        return []
    out = []
    for key in FILTER_KEYS:
        value = results.get(key)
        if isinstance(value, dict) and value.get("filtered") is True:
            out.append(key)
        elif isinstance(value, list) and any(isinstance(v, dict) and v.get("filtered") for v in value):
            out.append(key)
    return out


def error_from_body(body: Any) -> tuple[str | None, str]:
    """Azure's error code and message; a filtered prompt names the categories."""
    error = body["error"]
    if isinstance(error, str):
        return None, error
    code = error.get("code") or error.get("type")
    message = str(error.get("message") or "")
    if code == "content_filter":
        inner = error.get("innererror") or {}
        categories = filtered_categories(inner.get("content_filter_result"))
        if categories:
            message = f"{message} (filtered: {', '.join(categories)})"
    return (str(code) if code is not None else None), message


class AzureStreamTranslator(OpenAIStreamTranslator):
    """OpenAI's stream reading, minus Azure's annotation-only chunks (empty ``id``,
    ``prompt_filter_results`` or ``content_filter_offsets``), which carry no answer."""

    def __init__(self, provider: str = "azure") -> None:
        super().__init__(provider)

    def translate(self, event: SSEEvent) -> list[ChatChunk]:
        if '"id":""' in event.data or '"id": ""' in event.data:
            data = self.load(event)
            if data.get("id") == "" and not _has_delta(data.get("choices")):
                return []
        try:
            return super().translate(event)
        except UpstreamBadRequest as error:  # Azure's codes: "429", "InternalServerError"...
            kind = error.upstream_type or ""
            if kind == "429":
                raise UpstreamRateLimited(error.message, provider=self.provider, upstream_type=kind) from None
            if kind in SERVER_CODES:
                raise UpstreamServerError(error.message, provider=self.provider, upstream_type=kind) from None
            raise


def _has_delta(choices: Any) -> bool:
    return isinstance(choices, list) and any(
        isinstance(c, dict) and (c.get("delta") or c.get("finish_reason")) for c in choices)
