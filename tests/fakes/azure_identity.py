"""Fake managed-identity token endpoint (Azure App Service / Functions protocol, api-version
2019-08-01), what azure-identity's ``ManagedIdentityCredential`` (and so
``DefaultAzureCredential``) calls when ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` are set:

``GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...`` with ``X-IDENTITY-HEADER``;
answers ``{"access_token", "expires_on" (epoch seconds, a string), "resource", "token_type"}``.
Each call issues a new token (``entra-token-1``, ``-2``...), added to ``issued`` (and to a
FakeAzure's ``ad_tokens`` when given). A wrong header is a 401, a missing resource a 400.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlparse

SECRET_HEADER = "fake-identity-header-value"


class FakeManagedIdentity:
    """A loopback IDENTITY_ENDPOINT; ``lifetime`` is each token's validity in seconds."""

    def __init__(self, lifetime: float = 3600.0, accepted: set[str] | None = None) -> None:
        self.lifetime = lifetime
        self.issued: list[str] = []
        self.resources: list[str] = []
        self.accepted = accepted  # a FakeAzure's ad_tokens, to accept what is issued here
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/msi/token"

    def env(self) -> dict[str, str]:
        return {"IDENTITY_ENDPOINT": self.endpoint, "IDENTITY_HEADER": SECRET_HEADER}

    def start(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _issue(self, resource: str) -> dict[str, str]:
        token = f"entra-token-{len(self.issued) + 1}"
        self.issued.append(token)
        self.resources.append(resource)
        if self.accepted is not None:
            self.accepted.add(token)
        return {"access_token": token, "expires_on": str(int(time.time() + self.lifetime)),
                "resource": resource, "token_type": "Bearer"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlparse(self.path).query)
                if self.headers.get("X-IDENTITY-HEADER") != SECRET_HEADER:
                    self._send(401, {"error": "invalid_identity_header"})
                elif "resource" not in query or query.get("api-version") != ["2019-08-01"]:
                    self._send(400, {"error": "invalid_request", "error_description": "resource is required"})
                else:
                    self._send(200, fake._issue(query["resource"][0]))

            def _send(self, status: int, body: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
