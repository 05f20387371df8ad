"""Who may use the admin API besides the admin key's bearer: the console's session cookie and
the read-only viewer key (``LLM_ROUTER_VIEWER_KEY``).

A session is a signed cookie, ``role.expires.nonce.mac`` (HMAC-SHA256 under a key derived
from the admin key): no secret is in it, and replicas sharing the admin key accept each
other's sessions. Changing the admin or viewer key ends every session; logging out ends that
session on the instance that logged it out (elsewhere it runs to its expiry, at most
``LLM_ROUTER_UI_SESSION_HOURS``). A state-changing request with a session needs the
session's CSRF token in ``X-CSRF-Token``; a viewer (session or bearer) may only read."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request

from llm_router.errors import PermissionDenied, Unauthorized
from llm_router.policies.gateway_key import credential
from llm_router.storage.repository import Actor

Role = Literal["admin", "viewer"]
SESSION_COOKIE = "llm_router_session"
LOGIN_COOKIE = "llm_router_login"
CSRF_HEADER = "x-csrf-token"
READS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_COOKIE_CHARS = 200


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass(frozen=True, slots=True)
class Session:
    role: Role
    expires: int
    nonce: str


class ConsoleAccess:
    """Issues and checks console sessions; recognises the viewer key."""

    def __init__(self, admin_key: str, viewer_key: str | None, ttl_seconds: float,
                 clock: Callable[[], float] = time.time) -> None:
        self._admin_key = admin_key
        self._viewer_key = viewer_key
        label = b"llm-router console session v1\x00" + (viewer_key or "").encode()
        self._mac_key = hmac.new(admin_key.encode(), label, hashlib.sha256).digest()
        self.ttl = ttl_seconds
        self.clock = clock
        self._ended: dict[str, int] = {}  # nonce -> expiry, for sessions logged out here

    def _mac(self, text: str) -> str:
        return _b64(hmac.new(self._mac_key, text.encode(), hashlib.sha256).digest())

    def role_of(self, key: str) -> Role | None:
        """The role a login key grants, or None (both compared in constant time)."""
        admin = _same(key, self._admin_key)
        viewer = self._viewer_key is not None and _same(key, self._viewer_key)
        return "admin" if admin else "viewer" if viewer else None

    def issue(self, role: Role) -> tuple[str, Session]:
        """A new session cookie value and its session."""
        session = Session(role, int(self.clock() + self.ttl), secrets.token_urlsafe(16))
        body = f"{session.role}.{session.expires}.{session.nonce}"
        return f"{body}.{self._mac(body)}", session

    def csrf(self, session: Session) -> str:
        """The CSRF token of ``session`` (state-changing requests send it in X-CSRF-Token)."""
        return self._mac(f"csrf.{session.nonce}")

    def login_csrf(self, nonce: str) -> str:
        """The token the login form sends with the pre-login cookie ``nonce``."""
        return self._mac(f"login.{nonce}")

    def session(self, request: Request) -> Session | None:
        """The request's valid session, or None."""
        value = request.cookies.get(SESSION_COOKIE, "")
        parts = value.split(".") if 0 < len(value) <= MAX_COOKIE_CHARS else []
        if len(parts) != 4 or parts[0] not in ("admin", "viewer") or not parts[1].isdigit():
            return None
        if not _same(parts[3], self._mac(".".join(parts[:3]))):
            return None
        session = Session(parts[0], int(parts[1]), parts[2])  # type: ignore[arg-type]
        if session.expires <= self.clock() or session.nonce in self._ended:
            return None
        return session

    def end(self, session: Session) -> None:
        """Log ``session`` out (on this instance)."""
        now = self.clock()
        self._ended = {n: e for n, e in self._ended.items() if e > now}
        self._ended[session.nonce] = session.expires

    def actor(self, request: Request) -> Actor | None:
        """``admin``/``viewer`` for a console session or the viewer key; None to let the
        admin key's check decide; Unauthorized/PermissionDenied when it must not pass."""
        write = request.method not in READS
        if request.headers.getlist("authorization"):
            if self._viewer_key is None:
                return None
            token = credential(request.headers, allow_x_api_key=False)
            if not _same(token, self._viewer_key):
                return None
            if write:
                raise PermissionDenied("The viewer key is read-only: changes need the admin key.")
            return Actor("viewer")
        if SESSION_COOKIE not in request.cookies:
            return None
        session = self.session(request)
        if session is None:
            raise Unauthorized("The console session has expired or is not valid: log in again.")
        if write:
            if session.role != "admin":
                raise PermissionDenied("A viewer session is read-only: changes need the admin key.")
            if not _same(request.headers.get(CSRF_HEADER, ""), self.csrf(session)):
                raise PermissionDenied("Missing or wrong CSRF token (send the X-CSRF-Token header).")
        return Actor(session.role)
