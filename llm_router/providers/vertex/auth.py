"""Google OAuth2 access tokens for Vertex AI, kept fresh off the request path.

Credentials come from google-auth's default chain: ``GOOGLE_APPLICATION_CREDENTIALS`` (a
service-account or authorized-user file), gcloud's application-default login, or the
metadata server on Google Cloud. They are resolved once, in a worker thread. A request
waits for a token only when there is none that is still valid; a token that is about to
expire is replaced by a background refresh while requests keep using it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from llm_router.errors import ProviderUnavailable
from llm_router.providers.token_source import RefreshingToken

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


class GoogleTokens(RefreshingToken):
    """One set of credentials and its current access token; shared by every Vertex
    deployment of the process (``ChatModel.shared``)."""

    def __init__(self, credentials: Any = None) -> None:
        super().__init__()
        self._credentials = credentials
        self.project: str | None = None

    def fetch(self) -> tuple[str, float]:
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
