"""What Bedrock needs from botocore, in one module that is imported only when a Bedrock
deployment is first used (``BedrockChatModel.aws``): the region of botocore's configuration,
the credential chain (environment, shared files, SSO, container and instance roles) with its
SigV4 signer, and the binary event-stream parser."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials, RefreshableCredentials
from botocore.eventstream import EventStreamBuffer, EventStreamMessage, ParserError
from botocore.exceptions import BotoCoreError
from botocore.session import get_session

from llm_router.errors import ProviderUnavailable, UpstreamProtocolError


class Aws:
    """botocore for one deployment. Its credentials are resolved once off the request path,
    refreshed in a worker thread when they are about to expire, forgotten when AWS says they
    expired."""

    def __init__(self) -> None:
        self._credentials: Credentials | None = None

    @staticmethod
    def configured_region() -> str | None:
        """botocore's region (AWS_DEFAULT_REGION, the profile), if any."""
        region = get_session().get_config_variable("region")
        return str(region) if region else None

    def forget(self) -> None:
        """Resolve the credentials again on the next request."""
        self._credentials = None

    async def sign(self, url: str, body: bytes, headers: dict[str, str], region: str) -> dict[str, str]:
        """``headers`` with a fresh SigV4 signature (service ``bedrock``) of this POST."""
        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(await self._frozen(), "bedrock", region).add_auth(request)
        return dict(request.headers.items())

    @staticmethod
    def frames(provider: str) -> EventFrames:
        """A parser of one response's event stream."""
        return EventFrames(provider)

    async def _frozen(self) -> ReadOnlyCredentials:
        if self._credentials is None:
            # The chain may read files or ask an instance-metadata endpoint: not on the loop.
            try:
                self._credentials = await asyncio.to_thread(get_session().get_credentials)
            except (BotoCoreError, ValueError) as exc:
                raise ProviderUnavailable(f"Provider 'bedrock': AWS credentials could not be loaded "
                                          f"({type(exc).__name__}).") from None
            if self._credentials is None:
                raise ProviderUnavailable(
                    "Provider 'bedrock' is not configured: no AWS credentials found (set AWS_ACCESS_KEY_ID"
                    "/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a role, or AWS_BEARER_TOKEN_BEDROCK).")
        credentials = self._credentials
        if isinstance(credentials, RefreshableCredentials) and credentials.refresh_needed():
            return await asyncio.to_thread(credentials.get_frozen_credentials)
        return credentials.get_frozen_credentials()


class EventFrames:
    """AWS's binary event stream, one read at a time."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self._buffer = EventStreamBuffer()

    def feed(self, data: bytes) -> Iterator[EventStreamMessage]:
        """The frames ``data`` completes; a corrupt frame is an ``UpstreamProtocolError``."""
        try:
            self._buffer.add_data(data)
            yield from self._buffer
        except ParserError:
            raise UpstreamProtocolError("Upstream sent a corrupt event-stream frame.",
                                        provider=self.provider) from None
