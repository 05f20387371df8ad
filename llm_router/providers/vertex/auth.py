"""Google OAuth2 access tokens for Vertex AI, kept fresh off the request path.

Credentials come from google-auth's default chain: ``GOOGLE_APPLICATION_CREDENTIALS`` (a
service-account or authorized-user file), gcloud's application-default login, or the
metadata server on Google Cloud. They are resolved once, in a worker thread. A request
waits for a token only when there is none that is still valid; a token that is about to
expire is replaced by a background refresh while requests keep using it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from llm_router.errors import ProviderUnavailable

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
#: Refresh in the background when a token has less than this left (seconds).
REFRESH_AHEAD = 300.0
#: Wait for a fresh token when the cached one has less than this left (seconds).
MINIMUM_LEFT = 30.0


class GoogleTokens:
    """One set of credentials and its current access token; shared by every Vertex
    deployment of the process (``ChatModel.shared``)."""

    def __init__(self, credentials: Any = None) -> None:
        self._credentials = credentials
        self.project: str | None = None
        self._token: str | None = None
        self._expires_at = 0.0  # time.time()
        self._lock: asyncio.Lock | None = None
        self._background: asyncio.Task[None] | None = None

    @property
    def pending(self) -> asyncio.Task[None] | None:
        """The background refresh in progress, if any."""
        return self._background

    @property
    def current(self) -> str:
        """The cached token (call ``ensure`` first)."""
        return self._token or ""

    async def ensure(self) -> str:
        """A valid token: the cached one, refreshed ahead in the background when close to
        expiry, or (first use, or expired) a new one awaited here."""
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
        token, expires_at = await asyncio.to_thread(self._refresh_blocking)
        self._token, self._expires_at = token, expires_at

    def _refresh_blocking(self) -> tuple[str, float]:
        import google.auth
        import google.auth.exceptions
        from google.auth.transport.requests import Request

        try:
            if self._credentials is None:
                self._credentials, self.project = google.auth.default(scopes=list(SCOPES))
            self._credentials.refresh(Request())
        except google.auth.exceptions.GoogleAuthError as exc:
            raise ProviderUnavailable(
                f"Vertex AI: Google credentials could not be used ({type(exc).__name__}: set "
                "GOOGLE_APPLICATION_CREDENTIALS or run gcloud auth application-default login).") from None
        return str(self._credentials.token), _epoch(getattr(self._credentials, "expiry", None))

    def close(self) -> None:
        """Forget the token (the factory closes shared resources at shutdown)."""
        if self._background is not None:
            self._background.cancel()
        self._token = None


def _epoch(expiry: datetime | None) -> float:
    """google-auth's naive-UTC ``expiry`` as a timestamp; an hour when it gives none."""
    if expiry is None:
        return time.time() + 3600.0
    return expiry.replace(tzinfo=UTC).timestamp() if expiry.tzinfo is None else expiry.timestamp()


def shared_tokens(shared: dict[str, Any]) -> GoogleTokens:
    """The process's token source, created on first use."""
    tokens = shared.get("google-auth")
    if not isinstance(tokens, GoogleTokens):
        tokens = shared["google-auth"] = GoogleTokens()
    return tokens
