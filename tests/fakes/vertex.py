"""Fake Vertex AI upstreams, and the OAuth2 token endpoint their Bearer tokens come from.

- ``FakeVertex`` (Gemini models): ``POST /v1/projects/{p}/locations/{l}/publishers/google/models/
  {m}:generateContent`` / ``:streamGenerateContent?alt=sse`` (also ``v1beta1``), and express mode
  ``/v1/publishers/google/models/{m}:...`` with ``x-goog-api-key``; bodies as the Gemini fake.
  It also serves ``POST /token`` (a service account's ``token_uri``): a JWT-bearer grant is
  answered with a new access token, valid ``token_lifetime`` seconds.
- ``FakeVertexAnthropic`` (Claude models): ``.../publishers/anthropic/models/{m}:rawPredict`` and
  ``:streamRawPredict``; the Messages body without ``model`` and with ``anthropic_version:
  vertex-2023-10-16``; answers as the Anthropic fake.

Both accept only unexpired tokens the token endpoint issued (or ``static_tokens``); others get
Google's 401 ``UNAUTHENTICATED``. ``project`` and ``location`` must match the path.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from tests.fakes.anthropic import VERSIONS, FakeAnthropic
from tests.fakes.base import Exchange
from tests.fakes.gemini import FakeGemini
from tests.fakes.wire import Problem, Reply, bearer_token, compact

UNAUTHENTICATED = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                   "or other valid authentication credential.")


class TokenIssuer:
    """Access tokens handed out by the fake token endpoint (thread-safe)."""

    def __init__(self, lifetime: float = 3600.0, static_tokens: tuple[str, ...] = ()) -> None:
        self.lifetime = lifetime
        self._lock = threading.Lock()
        self._tokens = {token: float("inf") for token in static_tokens}
        self.grants: list[dict[str, Any]] = []  # the JWT claims of each grant

    def issue(self, claims: dict[str, Any]) -> tuple[str, float]:
        with self._lock:
            token = f"ya29.fake-{len(self.grants) + 1}-{int(time.time() * 1000)}"
            self._tokens[token] = time.time() + self.lifetime
            self.grants.append(claims)
            return token, self.lifetime

    def valid(self, token: str | None) -> bool:
        with self._lock:
            return token is not None and self._tokens.get(token, 0.0) > time.time()


def _claims(assertion: str) -> dict[str, Any] | None:
    parts = assertion.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def vertex_route(path: str, publisher: str) -> tuple[str | None, str | None, str, str] | None:
    """(project, location, model, method) for a Vertex model path, or None."""
    head, sep, method = path.rpartition(":")
    parts = head.split("/")
    if not sep or len(parts) < 5 or parts[1] not in ("v1", "v1beta1"):
        return None
    if parts[2:5] == ["publishers", publisher, "models"] and len(parts) == 6:
        return None, None, parts[5], method
    if (len(parts) == 10 and parts[2] == "projects" and parts[4] == "locations"
            and parts[6:9] == ["publishers", publisher, "models"]):
        return parts[3], parts[5], parts[9], method
    return None


class _Google:
    """What both fakes share: the token endpoint and the Bearer check."""

    issuer: TokenIssuer
    project: str
    location: str

    def google_problem(self, ex: Exchange, route: tuple[str | None, str | None, str, str] | None,
                       express_key: str | None = None) -> Problem | None:
        if route is None:
            return Problem(404, "NOT_FOUND", f"Not found: POST {ex.request.path}")
        project, location, _, _ = route
        if project is None:  # express mode
            key = ex.record.headers.get("x-goog-api-key")
            return None if express_key is not None and key == express_key else Problem(
                401, "UNAUTHENTICATED", "API keys are not supported by this API.")
        if not self.issuer.valid(bearer_token(ex.record.headers)):
            return Problem(401, "UNAUTHENTICATED", UNAUTHENTICATED)
        if (project, location) != (self.project, self.location):
            return Problem(403, "PERMISSION_DENIED", f"Permission denied on resource project {project}.")
        return None

    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/token":  # consumes no scripted reply
            return await self._guarded(request, Reply(), self.answer_token)  # type: ignore[attr-defined]
        return await super()._handle_chat(request)  # type: ignore[misc,no-any-return]

    async def answer_token(self, ex: Exchange) -> web.StreamResponse:
        form = parse_qs((await ex.request.read()).decode())
        claims = _claims((form.get("assertion") or [""])[0])
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"] or claims is None:
            body = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            return web.json_response(body, status=400)
        token, lifetime = self.issuer.issue(claims)
        return web.json_response({"access_token": token, "expires_in": int(lifetime), "token_type": "Bearer"})


class FakeVertex(_Google, FakeGemini):
    url_suffix = "/v1"

    def __init__(self, project: str = "my-project", location: str = "us-central1",
                 issuer: TokenIssuer | None = None, api_key: str | None = None) -> None:
        super().__init__(api_key or "no-express-key")
        self.project, self.location = project, location
        self.express_key = api_key
        self.issuer = issuer or TokenIssuer()

    def parse_path(self, path: str) -> tuple[str, str] | None:
        route = vertex_route(path, "google")
        return None if route is None else (route[2], route[3])

    def check_headers(self, headers: dict[str, str]) -> Problem | None:
        return None  # checked in _answer_chat, with the path

    async def _answer_chat(self, ex: Exchange) -> web.StreamResponse:
        problem = self.google_problem(ex, vertex_route(ex.request.path, "google"), self.express_key)
        if problem is not None:
            return await self._send_problem(ex, problem)
        return await super()._answer_chat(ex)


class FakeVertexAnthropic(_Google, FakeAnthropic):
    chat_path = "/{path:.+}"
    url_suffix = "/v1"

    def __init__(self, project: str = "my-project", location: str = "us-east5",
                 issuer: TokenIssuer | None = None) -> None:
        super().__init__("no-key")
        self.project, self.location = project, location
        self.issuer = issuer or TokenIssuer()

    async def _answer_chat(self, ex: Exchange) -> web.StreamResponse:
        route = vertex_route(ex.request.path, "anthropic")
        problem = self.google_problem(ex, route)
        if problem is None and route is not None and route[3] not in ("rawPredict", "streamRawPredict"):
            problem = Problem(404, "NOT_FOUND", f"Not found: POST {ex.request.path}")
        if problem is not None:
            return await self._send_google_problem(ex, problem)
        assert route is not None
        reply, body = ex.reply, ex.record.body
        problem = self._check_vertex_body(body) or self._scripted_error(reply)
        if problem is None:
            messages_body = {k: v for k, v in body.items() if k != "anthropic_version"}
            problem = self._check_body({"model": route[2], **messages_body})
        if problem:
            return await self._send_problem(ex, problem)
        model = reply.model or route[2]
        if route[3] == "streamRawPredict" and body.get("stream") is True:
            return await self._stream(ex, self.stream_events(reply, model, body))
        text = compact(self.success_body(reply, model, ex.request_id))
        return await self._send_json(ex, 200, text[: len(text) // 2] if reply.malformed else text)

    @staticmethod
    def _check_vertex_body(body: Any) -> Problem | None:
        if not isinstance(body, dict):
            return Problem(400, "invalid_request_error", "Request body must be a JSON object.")
        # vertex-2023-10-16 is documented; Anthropic SDK 2.x sends its API version instead
        # (whether Vertex accepts that is unverified, so the fake does)
        if body.get("anthropic_version") not in ("vertex-2023-10-16", *VERSIONS):
            return Problem(400, "invalid_request_error", "anthropic_version: Input should be 'vertex-2023-10-16'")
        if "model" in body:
            return Problem(400, "invalid_request_error", "model: Extra inputs are not permitted")
        return None

    async def _send_google_problem(self, ex: Exchange, problem: Problem) -> web.StreamResponse:
        body = {"error": {"code": problem.status, "message": problem.message, "status": problem.error_type}}
        return await self._send_json(ex, problem.status, compact(body))
