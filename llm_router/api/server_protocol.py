"""uvicorn's httptools protocol with a header timeout (bad-input matrix I16).

uvicorn bounds the idle time between two requests of a keep-alive connection, but not a new
connection that never sends a request, nor a client trickling its request line and headers
one byte at a time: both would hold a connection (and a file descriptor) for as long as the
client likes. This protocol gives every request ``LLM_ROUTER_HEADER_TIMEOUT`` seconds (10 by
default) from the connection's start, or from the first byte of the next request, to complete
its headers; past that it answers 408 and closes. The body has its own timeout, enforced by
the data-plane endpoint (``LLM_ROUTER_BODY_TIMEOUT``).

``llm-router serve`` uses it (it needs ``httptools``, part of ``uvicorn[standard]``); with
plain ``uvicorn llm_router.app:app`` pass ``--http llm_router.api.server_protocol:GuardedHttpProtocol``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from llm_router.api.errors import describe, error_body
from llm_router.errors import InvalidRequest

__all__ = ["GuardedHttpProtocol"]


def _timeout_response() -> bytes:
    """The 408, its body from the one error renderer (no request exists yet: no request id)."""
    error = InvalidRequest("The request headers did not arrive in time (LLM_ROUTER_HEADER_TIMEOUT).",
                           None, 408, "request_timeout")
    body = error_body(describe(error), "openai", "-")
    head = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n")
    return head + body


class GuardedHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that closes connections whose headers take too long."""

    header_timeout: float | None = None  # read from the settings once per process

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        if GuardedHttpProtocol.header_timeout is None:
            from llm_router.config.settings import Settings

            GuardedHttpProtocol.header_timeout = Settings().llm_router_header_timeout

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        self._disarm()
        timeout = GuardedHttpProtocol.header_timeout or 10.0
        self._header_timer = self.loop.call_later(timeout, self._on_header_timeout)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _on_header_timeout(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.write(_timeout_response())
            self.transport.close()
