"""A TCP proxy a test can cut: ``cut()`` closes every connection and refuses new ones (as a
database that went away), ``restore()`` lets connections through again."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CuttableProxy:
    """127.0.0.1:<port> -> ``target``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = True
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._stopping = False
        threading.Thread(target=self._accept, daemon=True, name="cuttable-proxy").start()

    def cut(self) -> None:
        """Drop every connection; refuse new ones until ``restore``."""
        with self._lock:
            self.open = False
            for sock in list(self._sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def restore(self) -> None:
        with self._lock:
            self.open = True

    def close(self) -> None:
        self._stopping = True
        self.cut()
        self.listener.close()

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                if not self.open:
                    client.close()
                    continue
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                except OSError:
                    client.close()
                    continue
                self._sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with self._lock:
                    self._sockets.discard(sock)


@contextmanager
def cuttable(target: tuple[str, int]) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(target)
    try:
        yield proxy
    finally:
        proxy.close()
