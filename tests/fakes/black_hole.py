"""A loopback address that drops SYNs, like a firewalled host: connecting to it hangs
until the client's connect timeout (fault matrix F12).

A listening socket that never accepts, with a backlog of 0, is filled with pending
connections; the kernel then drops further SYNs instead of answering them."""

from __future__ import annotations

import socket
import time
from types import TracebackType
from typing import Self


class BlackHole:
    """``with BlackHole() as hole: hole.port`` — connects to 127.0.0.1:port hang."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._fillers: list[socket.socket] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Self:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.settimeout(0.1)
            try:
                probe.connect(("127.0.0.1", self.port))
            except (TimeoutError, BlockingIOError):
                probe.close()
                return self  # the queue is full: SYNs are now dropped
            self._fillers.append(probe)  # it got in: it fills the queue
        raise RuntimeError("could not fill the listen queue")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        for sock in self._fillers:
            sock.close()
        self._listener.close()
