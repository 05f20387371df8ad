"""The web console: static pages under ``LLM_ROUTER_UI_PATH`` (default ``/ui``) that call the
documented admin API, plus the console's session routes (``session``, ``login``, ``logout``).

Wiring (``create_app``, with the admin plane on): ``install_console(app, plane)``. It adds the
admin API routes the pages read (``api/admin_console.py``) and the session/viewer access
(``api/console_access.py``) always, and the pages unless ``LLM_ROUTER_UI=false``.

Settings: ``LLM_ROUTER_UI`` (default true), ``LLM_ROUTER_UI_PATH``, ``LLM_ROUTER_VIEWER_KEY``
(a read-only credential, at least 32 characters, for the console and the admin API),
``LLM_ROUTER_UI_SESSION_HOURS`` (default 12). The login takes the admin or the viewer key in a
POST body; the key is never put in a page, a URL or a log line."""

from __future__ import annotations

import hashlib
import secrets
from importlib import resources
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.responses import JSONResponse, RedirectResponse, Response

from llm_router.admin_plane import MIN_ADMIN_KEY_CHARS, AdminPlane
from llm_router.api import admin_console
from llm_router.api.console_access import (
    CSRF_HEADER,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    ConsoleAccess,
    Session,
)
from llm_router.errors import ConfigError, NotFound, PermissionDenied, Unauthorized
from llm_router.storage.console import ConsoleQueries

ASSETS = {  # file -> content type; nothing else is served
    "index.html": "text/html; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "core.js": "text/javascript; charset=utf-8",
    "overview.js": "text/javascript; charset=utf-8",
    "keys.js": "text/javascript; charset=utf-8",
    "requests.js": "text/javascript; charset=utf-8",
    "models.js": "text/javascript; charset=utf-8",
    "playground.js": "text/javascript; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uPlot.min.css": "text/css; charset=utf-8",
    "LICENSE.uPlot.txt": "text/plain; charset=utf-8",
}
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
RESERVED = ("/admin", "/v1", "/health", "/metrics", "/openapi.json")


class ConsoleSettings(BaseSettings):
    """The console's settings, validated once."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True)

    llm_router_ui: bool = True
    llm_router_ui_path: str = Field("/ui", pattern=r"^(/[A-Za-z0-9._-]+)+$", max_length=100)
    llm_router_viewer_key: SecretStr | None = None
    llm_router_ui_session_hours: float = Field(12.0, gt=0, le=720)

    @field_validator("llm_router_ui_path")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if any(value == r or value.startswith(r + "/") for r in RESERVED):
            raise ValueError(f"{value} is taken by the API")
        return value


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=4096)


def install_console(app: FastAPI, plane: AdminPlane, settings: ConsoleSettings | None = None) -> None:
    """The console's admin API routes and access, and (unless turned off) its pages."""
    settings = settings or ConsoleSettings()
    admin_secret = plane.settings.llm_router_admin_key
    if admin_secret is None:
        raise ConfigError("The console needs the admin plane (LLM_ROUTER_ADMIN_KEY).")
    admin_key = admin_secret.get_secret_value()
    viewer = settings.llm_router_viewer_key.get_secret_value() if settings.llm_router_viewer_key else None
    if viewer is not None and len(viewer) < MIN_ADMIN_KEY_CHARS:
        raise ConfigError(f"LLM_ROUTER_VIEWER_KEY must be at least {MIN_ADMIN_KEY_CHARS} characters.")
    if viewer is not None and viewer == admin_key:
        raise ConfigError("LLM_ROUTER_VIEWER_KEY must differ from LLM_ROUTER_ADMIN_KEY.")
    access = ConsoleAccess(admin_key, viewer or None, settings.llm_router_ui_session_hours * 3600)
    app.state.admin_access = access
    app.state.console_queries = ConsoleQueries(plane.engine)
    app.include_router(admin_console.router)
    if settings.llm_router_ui:
        app.include_router(console_router(settings.llm_router_ui_path, access))


def _asset_bytes() -> dict[str, bytes]:
    folder = resources.files("llm_router.ui")
    return {name: folder.joinpath(name).read_bytes() for name in ASSETS}


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int, path: str) -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="strict",
                        secure=_secure(request))


def _session_body(access: ConsoleAccess, session: Session) -> dict[str, Any]:
    return {"authenticated": True, "role": session.role, "csrf": access.csrf(session),
            "expires_at": session.expires}


class _Assets:
    """The console's files, read once, served with an ETag."""

    def __init__(self) -> None:
        self.bodies = _asset_bytes()
        self.etags = {name: '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                      for name, body in self.bodies.items()}

    def serve(self, name: str, request: Request) -> Response:
        """One file (304 when the client has it); 404 for anything else."""
        if name not in self.bodies or (name == "index.html" and request.url.path.endswith(".html")):
            raise NotFound(f"No console file '{name[:60]}'.")
        headers = {**SECURITY_HEADERS, "etag": self.etags[name],
                   "cache-control": "no-cache" if name != "index.html" else "no-store"}
        if request.headers.get("if-none-match") == self.etags[name]:
            return Response(status_code=304, headers=headers)
        return Response(self.bodies[name], media_type=ASSETS[name], headers=headers)


def console_router(path: str, access: ConsoleAccess) -> APIRouter:
    """The pages, their assets and the session routes, under ``path``."""
    assets = _Assets()
    router = APIRouter(prefix=path, include_in_schema=False)

    @router.get("")
    async def bare() -> Response:
        return RedirectResponse(path + "/", status_code=308)

    @router.get("/")
    async def index(request: Request) -> Response:
        return assets.serve("index.html", request)

    @router.get("/assets/{name}")
    async def static(name: str, request: Request) -> Response:
        return assets.serve(name, request)

    _add_session_routes(router, path, access)
    return router


def _add_session_routes(router: APIRouter, path: str, access: ConsoleAccess) -> None:
    """``/session`` (who is signed in, or a login CSRF token), ``/login`` and ``/logout``."""

    @router.get("/session")
    async def session(request: Request) -> Response:
        """The signed-in role and CSRF token, or a login token (and its cookie)."""
        current = access.session(request)
        if current is not None:
            return JSONResponse(_session_body(access, current), headers={"cache-control": "no-store"})
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not 16 <= len(nonce) <= 64:
            nonce = secrets.token_urlsafe(24)
        response = JSONResponse({"authenticated": False, "login_csrf": access.login_csrf(nonce)},
                                headers={"cache-control": "no-store"})
        _set_cookie(response, request, LOGIN_COOKIE, nonce, 3600, path)
        return response

    @router.post("/login")
    async def login(body: LoginBody, request: Request) -> Response:
        """Exchange the admin or viewer key for a session cookie."""
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        token = request.headers.get(CSRF_HEADER, "")
        if not nonce or not secrets.compare_digest(token.encode(), access.login_csrf(nonce).encode()):
            raise PermissionDenied("Missing or wrong CSRF token: reload the page and log in again.")
        role = access.role_of(body.key)
        if role is None:
            raise Unauthorized("Wrong key: log in with the admin key or the viewer key.")
        cookie, new = access.issue(role)
        response = JSONResponse(_session_body(access, new), headers={"cache-control": "no-store"})
        _set_cookie(response, request, SESSION_COOKIE, cookie, int(access.ttl), "/")
        response.delete_cookie(LOGIN_COOKIE, path=path)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        """End the session (its CSRF token required)."""
        current = access.session(request)
        if current is None:
            raise Unauthorized("Not logged in.")
        if not secrets.compare_digest(request.headers.get(CSRF_HEADER, "").encode(),
                                      access.csrf(current).encode()):
            raise PermissionDenied("Missing or wrong CSRF token (send the X-CSRF-Token header).")
        access.end(current)
        response = JSONResponse({"authenticated": False})
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                               secure=_secure(request))
        return response
