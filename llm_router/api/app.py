"""The application factory: settings in, one ASGI application out. Nothing global.

One routing table: the data-plane surfaces (``api/surfaces.py``) are plain ASGI routes of the
same application as FastAPI's routes (``/health``, ``/v1/models``, ``/v1/usage``, admin...).
In front of all of them sits one edge middleware (``api/edge.py``, which also tracks requests
for the drain, ``drain.py``), and, when configured, CORS.
The edge hands a data-plane ``POST`` to its endpoint by exact path, from the same table (the
routes here answer everything else about those paths: 405, CORS, redirects).
Every error response is rendered by ``api/errors.py``."""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.telemetry import TelemetryConfig
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from llm_router.api import openai_compat, operations, responses_state
from llm_router.api.auth import AdminGuard, admin_or_api_principal
from llm_router.api.edge import EdgeMiddleware, HeaderLimits
from llm_router.api.endpoint import DataPlaneEndpoint
from llm_router.api.errors import error_response, surface_of, validation_error
from llm_router.api.openapi import build_openapi
from llm_router.api.services import Services, build_services
from llm_router.api.surfaces import SurfaceRoute, routes
from llm_router.api.wiring import secret
from llm_router.config.settings import Settings
from llm_router.errors import RouterError
from llm_router.observability.logs import setup_logging
from llm_router.observability.observer import Observer

if TYPE_CHECKING:
    from llm_router.drain import Drain

log = logging.getLogger("llm_router")
VERSION = "0.1.0"
#: FastAPI's native OpenTelemetry layer off: the request and attempt spans are ours
#: (``observability/tracing.py``), and the layer's "is a provider configured?" check read the
#: environment on every request (7-9 µs of py-spy samples).
NO_NATIVE_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings | None = None, config_path: str | None = None, *,
               configure_logging: bool = True, drain: Drain | None = None) -> FastAPI:
    """Build the service from ``settings`` (read from the environment and ``.env`` if None)
    and the router config file at ``config_path`` (or ``LLM_ROUTER_CONFIG``), if any.
    ``configure_logging=False`` leaves the process's logging as it is (an embedding host's);
    with a ``drain`` (``llm-router serve``), the edge tracks every request for it."""
    settings = settings or Settings()
    if configure_logging:
        setup_logging(settings.llm_router_log_level, settings.llm_router_log_format)
    services = build_services(settings, config_path)
    app = RouterApp(title="llm-router", version=VERSION, lifespan=services.lifespan,
                    docs_url=None, redoc_url=None, openapi_url=None, telemetry=NO_NATIVE_TELEMETRY)
    _set_state(app, services)
    surfaces = routes()
    endpoints = _add_surfaces(app, surfaces, services)
    for module in (openai_compat.router, operations.router):
        app.include_router(module)
    if services.plane is not None:
        from llm_router.api.ui import install_console  # the console's storage: with the plane only

        services.plane.install(app)
        install_console(app, services.plane)  # console admin routes, viewer/session access, /ui/ pages
        app.include_router(responses_state.router)  # GET /v1/responses/{id}
    _add_openapi(app, surfaces)
    _add_error_handlers(app)
    _add_middleware(app, settings, services.observer, endpoints, drain)
    return app


def _set_state(app: FastAPI, services: Services) -> None:
    """What the FastAPI routes read (``request.app.state``)."""
    settings = services.settings
    app.state.settings = settings
    app.state.gateway = services.gateway
    app.state.policies = services.chain
    app.state.metrics = services.metrics
    app.state.ledger = services.ledger
    app.state.admin = services.plane
    app.state.admin_guard = AdminGuard(secret(settings.llm_router_admin_key),
                                       secret(settings.llm_router_api_key))


class RouterApp(FastAPI):
    """FastAPI with a lean middleware stack: the edge, the server-error guard, our middleware
    (CORS), exception handling, FastAPI's exit stack, the routes. The edge is outermost so that
    a data-plane request it hands straight to its endpoint passes through no other layer (the
    edge itself answers an exception the endpoint lets out, as the server-error guard would).
    FastAPI's own telemetry and body-size layers are left out: the body limit is our policy."""

    edge: dict[str, Any] | None = None  # EdgeMiddleware's arguments, set by _add_middleware

    def build_middleware_stack(self) -> ASGIApp:
        handlers = {k: v for k, v in self.exception_handlers.items() if k not in (500, Exception)}
        app: ASGIApp = ExceptionMiddleware(AsyncExitStackMiddleware(self.router), handlers=handlers,
                                           debug=self.debug)
        for middleware in reversed(self.user_middleware):
            app = middleware.cls(app, *middleware.args, **middleware.kwargs)
        app = ServerErrorMiddleware(app, handler=self.exception_handlers.get(Exception), debug=self.debug)
        return EdgeMiddleware(app, **self.edge) if self.edge is not None else app


def _add_surfaces(app: FastAPI, surfaces: tuple[SurfaceRoute, ...],
                  services: Services) -> dict[str, DataPlaneEndpoint]:
    """One route per surface path; the same endpoints by exact path, for the edge."""
    settings = services.settings
    endpoints: dict[str, DataPlaneEndpoint] = {}
    for surface in surfaces:
        endpoint = DataPlaneEndpoint(surface, services.gateway, services.chain,
                                     settings.llm_router_max_body_bytes, services.observer.cost_of,
                                     settings.llm_router_body_timeout)
        paths = [surface.path]
        if surface.path.endswith("/"):  # the seed's /chat/ also answers as /chat
            paths.append(surface.path.rstrip("/"))
        for path in paths:
            app.router.routes.append(Route(path, endpoint, methods=["POST"]))
            endpoints[path] = endpoint
    return endpoints


def _add_openapi(app: FastAPI, surfaces: tuple[SurfaceRoute, ...]) -> None:
    document: dict[str, Any] = {}

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(admin_or_api_principal)])
    async def openapi() -> dict[str, Any]:
        if not document:
            document.update(build_openapi(app, surfaces))
        return document


def _add_middleware(app: RouterApp, settings: Settings, observer: Observer,
                    endpoints: dict[str, DataPlaneEndpoint], drain: Drain | None) -> None:
    origins = [o.strip() for o in settings.llm_router_cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"],
                           allow_headers=["*"], expose_headers=["x-request-id", "retry-after"],
                           allow_credentials=False)
    limits = HeaderLimits(settings.llm_router_max_header_bytes, settings.llm_router_max_headers_bytes,
                          settings.llm_router_max_headers)
    app.edge = {"observer": observer, "endpoints": endpoints, "limits": limits, "drain": drain}  # outermost


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> Response:
        return validation_error(exc, surface_of(request))

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> Response:
        return error_response(exc, surface_of(request))

    @app.exception_handler(RouterError)
    async def on_router_error(request: Request, exc: RouterError) -> Response:
        return error_response(exc, surface_of(request))

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception) -> Response:
        return error_response(exc, surface_of(request))


def warn_if_exposed(host: str, settings: Settings) -> None:
    """Log a warning when binding beyond loopback with no gateway key set."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and settings.llm_router_api_key is None:
        log.warning("binding %s without LLM_ROUTER_API_KEY: anyone who can reach this "
                    "port can spend your provider keys", host)
