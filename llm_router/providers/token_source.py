"""An access token kept fresh off the request path, for providers whose credential is a
short-lived bearer token (Vertex AI through google-auth, Azure OpenAI through Entra ID).

The credential is resolved and refreshed in a worker thread (the libraries block). A request
waits only when no valid token is cached; one close to expiry is replaced by a background
refresh while requests keep using it. A subclass says how to get a token, nothing else."""

from __future__ import annotations

import asyncio
import time

from llm_router.errors import ProviderUnavailable

#: Refresh in the background when a token has less than this left (seconds).
REFRESH_AHEAD = 300.0
#: Wait for a fresh token when the cached one has less than this left (seconds).
MINIMUM_LEFT = 30.0


class RefreshingToken:
    """One credential's current access token; shared by every deployment that uses it."""

    def __init__(self) -> None:
        self._token: str | None = None
        self._expires_at = 0.0  # time.time()
        self._lock: asyncio.Lock | None = None
        self._background: asyncio.Task[None] | None = None

    def fetch(self) -> tuple[str, float]:
        """A new token and its expiry (``time.time()`` seconds), blocking; raises
        ProviderUnavailable naming what to set when there is no usable credential."""
        raise NotImplementedError

    @property
    def pending(self) -> asyncio.Task[None] | None:
        """The background refresh in progress, if any."""
        return self._background

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
        self._token, self._expires_at = await asyncio.to_thread(self.fetch)

    def close(self) -> None:
        """Forget the token (the factory closes shared resources at shutdown)."""
        if self._background is not None:
            self._background.cancel()
        self._token = None
