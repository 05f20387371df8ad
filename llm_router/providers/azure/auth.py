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

import asyncio
import time
from typing import Any

from llm_router.errors import ProviderUnavailable

SCOPE = "https://cognitiveservices.azure.com/.default"
#: Refresh in the background when a token has less than this left (seconds).
REFRESH_AHEAD = 300.0
#: Wait for a fresh token when the cached one has less than this left (seconds).
MINIMUM_LEFT = 30.0


class EntraTokens:
    """One credential and its current access token; shared by every Azure deployment of
    the process that uses ``azure_auth: entra`` (``ChatModel.shared``)."""

    def __init__(self, credential: Any = None) -> None:
        self._credential = credential
        self._token: str | None = None
        self._expires_at = 0.0  # time.time()
        self._lock: asyncio.Lock | None = None
        self._background: asyncio.Task[None] | None = None

    @property
    def current(self) -> str:
        """The cached token (call ``ensure`` first)."""
        return self._token or ""

    async def ensure(self) -> str:
        """A valid token: the cached one (refreshed ahead in the background when close to
        expiry), or, on first use or after expiry, a new one awaited here."""
        left = self._expires_at - time.time()
        if self._token is not None and left > MINIMUM_LEFT:
            if left < REFRESH_AHEAD and self._background is None:
                self._background = asyncio.get_running_loop().create_task(self._refresh_in_background())
            return self._token
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one refresh at a time; the others wait for its result
            if self._token is None or self._expires_at - time.time() <= MINIMUM_LEFT:
                await self._refresh()
        return self.current

    async def _refresh_in_background(self) -> None:
        try:
            await self._refresh()
        except ProviderUnavailable:
            pass  # the next request that needs a token will wait and report it
        finally:
            self._background = None

    async def _refresh(self) -> None:
        self._token, self._expires_at = await asyncio.to_thread(self._refresh_blocking)

    def _refresh_blocking(self) -> tuple[str, float]:
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

    def close(self) -> None:
        """Forget the token (the factory closes shared resources at shutdown)."""
        if self._background is not None:
            self._background.cancel()
        self._token = None


def shared_tokens(shared: dict[str, Any]) -> EntraTokens:
    """The process's Entra ID token source, created on first use."""
    tokens = shared.get("azure-identity")
    if not isinstance(tokens, EntraTokens):
        tokens = shared["azure-identity"] = EntraTokens()
    return tokens
