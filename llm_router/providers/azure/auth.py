"""Microsoft Entra ID for Azure OpenAI: a static bearer token, or tokens from azure-identity
kept fresh off the request path.

``azure_ad_token`` (``AZURE_AD_TOKEN``) is sent as ``Authorization: Bearer`` as it is (the
caller renews it). ``azure_auth: entra`` (``AZURE_AUTH=entra``) uses azure-identity's
``DefaultAzureCredential`` (a service principal from ``AZURE_TENANT_ID``/``AZURE_CLIENT_ID``/
``AZURE_CLIENT_SECRET``, workload identity, a managed identity, or ``az login``) for the
Cognitive Services scope: resolved once, in a worker thread; a request waits only when no
valid token is cached, and one about to expire is replaced by a background refresh while
requests keep using it. The optional dependency: ``pip install 'llm-router[azure]'``.
"""

from __future__ import annotations

from typing import Any

from llm_router.errors import ProviderUnavailable
from llm_router.providers.token_source import RefreshingToken

SCOPE = "https://cognitiveservices.azure.com/.default"


class EntraTokens(RefreshingToken):
    """One credential and its current access token; shared by every Azure deployment of
    the process that uses ``azure_auth: entra`` (``ChatModel.shared``)."""

    def __init__(self, credential: Any = None) -> None:
        super().__init__()
        self._credential = credential

    def fetch(self) -> tuple[str, float]:
        try:
            from azure.core.exceptions import ClientAuthenticationError
            from azure.identity import DefaultAzureCredential
        except ImportError:
            raise ProviderUnavailable("Azure OpenAI with azure_auth: entra needs azure-identity: "
                                      "pip install 'llm-router[azure]'.") from None
        try:
            if self._credential is None:
                self._credential = DefaultAzureCredential()
            token = self._credential.get_token(SCOPE)
        except ClientAuthenticationError as exc:
            raise ProviderUnavailable(
                f"Azure OpenAI: no Microsoft Entra ID credential could be used ({type(exc).__name__}: set "
                "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, use a managed identity, or run "
                "az login).") from None
        return str(token.token), float(token.expires_on)


def shared_tokens(shared: dict[str, Any]) -> EntraTokens:
    """The process's Entra ID token source, created on first use."""
    tokens = shared.get("azure-identity")
    if not isinstance(tokens, EntraTokens):
        tokens = shared["azure-identity"] = EntraTokens()
    return tokens
