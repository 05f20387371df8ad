"""The application factory: settings in, one ASGI application out. Nothing global.

One routing table: the data-plane surfaces (``api/surfaces.py``) are plain ASGI routes of the
same application as FastAPI's routes (``/health``, ``/v1/models``, ``/v1/usage``, admin...).
In front of all of them sits one edge middleware (``api/edge.py``), and, when configured, CORS.
Every error response is rendered by ``api/errors.py``."""

from __future__ import annotations

import gc
import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
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
from llm_router.api.surfaces import SurfaceRoute, routes
from llm_router.api.ui import install_console
from llm_router.api.wiring import admin_plane, policy_chain, secret
from llm_router.cache.setup import CacheCollector, build_cache
from llm_router.config.router_config import build_router_config
from llm_router.config.settings import Settings
from llm_router.errors import RouterError
from llm_router.gateway import Gateway
from llm_router.observability.logs import setup_logging
from llm_router.observability.metrics import Metrics
from llm_router.observability.observer import Observer
from llm_router.observability.pricing import PriceTable
from llm_router.observability.tracing import tracer_from_environment
from llm_router.observability.usage import UsageLedger
from llm_router.policies.base import PolicyChain
from llm_router.providers.factory import ChatModelFactory
from llm_router.providers.http import UpstreamClient
from llm_router.routing.router import Router
from llm_router.scaleout import build_scaleout
from llm_router.storage.journal_service import build_journal
from llm_router.storage.responses import ResponseStore

log = logging.getLogger("llm_router")
VERSION = "0.1.0"


def create_app(settings: Settings | None = None, config_path: str | None = None, *,
               configure_logging: bool = True) -> FastAPI:
    """Build the service from ``settings`` (read from the environment and ``.env`` if None)
    and the router config file at ``config_path`` (or ``LLM_ROUTER_CONFIG``), if any.
    ``configure_logging=False`` leaves the process's logging as it is (an embedding host's)."""
    settings = settings or Settings()
    if configure_logging:
        setup_logging(settings.llm_router_log_level, settings.llm_router_log_format)
    config = build_router_config(settings, config_path or settings.llm_router_config)
    http = UpstreamClient()
    factory = ChatModelFactory(config.deployments, http)
    router = Router(config, factory)
    prices = PriceTable(config.prices)
    scaleout = build_scaleout()  # None without LLM_ROUTER_REDIS_URL
    plane = admin_plane(router, prices, scaleout)
    chain = PolicyChain(policy_chain(settings, plane))
    gateway = Gateway(router, capture_content=settings.llm_router_log_content, policies=chain)
    if plane is not None:  # the Responses surface keeps responses in the same database
        gateway.response_store = ResponseStore(plane.engine)
    gateway.cache = build_cache(router)  # None unless a route or deployment has ``cache:``
    journal = build_journal(plane.engine if plane else None, owners=plane.owners if plane else None)  # opt-in
    if journal is not None:
        router.before_attempt = journal.journal.intent

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await http.start()
        await factory.start()
        if plane is not None:
            await plane.start()
        if scaleout is not None:
            await scaleout.start()
        if journal is not None:
            await journal.start()
        gc.collect()
        gc.freeze()  # start-up objects leave the collector's view: later collections stay cheap
        log.info("llm-router ready; providers configured: %s", ", ".join(factory.available()) or "none")
        try:
            yield
        finally:
            if journal is not None:
                await journal.close()
            if scaleout is not None:
                await scaleout.close()
            if plane is not None:
                await plane.close()
            factory.close()
            await http.close()
            if gateway.cache is not None:
                await gateway.cache.close()

    app = RouterApp(title="llm-router", version=VERSION, lifespan=lifespan,
                    docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.gateway = gateway
    app.state.policies = chain
    app.state.metrics = Metrics()
    if scaleout is not None:
        app.state.metrics.registry.register(scaleout.collector())
    if journal is not None:
        app.state.metrics.registry.register(journal.collector())
    if gateway.cache is not None:
        app.state.metrics.registry.register(CacheCollector(gateway.cache))
    app.state.ledger = UsageLedger()
    app.state.admin_guard = AdminGuard(secret(settings.llm_router_admin_key),
                                       secret(settings.llm_router_api_key))
    app.state.admin = plane
    observer = Observer(
        app.state.metrics, prices, app.state.ledger,
        deployment_price=factory.price_of,
        circuit_state=router.health.state, tracer=tracer_from_environment(),
        log_content=settings.llm_router_log_content,
        sinks=((plane.usage_sink,) if plane is not None else ()) + ((journal.journal,) if journal else ()),
    )
    surfaces = routes()
    _add_surfaces(app, surfaces, gateway, chain, observer, settings)
    for module in (openai_compat.router, operations.router):
        app.include_router(module)
    if plane is not None:
        plane.install(app)
        install_console(app, plane)  # console admin routes, viewer/session access, /ui/ pages
        app.include_router(responses_state.router)  # GET /v1/responses/{id}
    _add_openapi(app, surfaces)
    _add_error_handlers(app)
    _add_middleware(app, settings, observer, surfaces)
    return app


class RouterApp(FastAPI):
    """FastAPI with a lean middleware stack: the server-error guard, our middleware (CORS, the
    edge), exception handling, FastAPI's exit stack, the routes. FastAPI's own telemetry and
    body-size layers are left out: the body limit is our policy."""

    def build_middleware_stack(self) -> ASGIApp:
        handlers = {k: v for k, v in self.exception_handlers.items() if k not in (500, Exception)}
        app: ASGIApp = ExceptionMiddleware(AsyncExitStackMiddleware(self.router), handlers=handlers,
                                           debug=self.debug)
        for middleware in reversed(self.user_middleware):
            app = middleware.cls(app, *middleware.args, **middleware.kwargs)
        return ServerErrorMiddleware(app, handler=self.exception_handlers.get(Exception), debug=self.debug)


def _add_surfaces(app: FastAPI, surfaces: tuple[SurfaceRoute, ...], gateway: Gateway,
                  chain: PolicyChain, observer: Observer, settings: Settings) -> None:
    max_body_bytes, body_timeout = settings.llm_router_max_body_bytes, settings.llm_router_body_timeout
    for surface in surfaces:
        endpoint = DataPlaneEndpoint(surface, gateway, chain, max_body_bytes, observer.cost_of,
                                     body_timeout)
        app.router.routes.append(Route(surface.path, endpoint, methods=["POST"]))
        if surface.path.endswith("/"):  # the seed's /chat/ also answers as /chat
            app.router.routes.append(Route(surface.path.rstrip("/"), endpoint, methods=["POST"]))


def _add_openapi(app: FastAPI, surfaces: tuple[SurfaceRoute, ...]) -> None:
    document: dict[str, Any] = {}

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(admin_or_api_principal)])
    async def openapi() -> dict[str, Any]:
        if not document:
            document.update(build_openapi(app, surfaces))
        return document


def _add_middleware(app: FastAPI, settings: Settings, observer: Observer,
                    surfaces: tuple[SurfaceRoute, ...]) -> None:
    origins = [o.strip() for o in settings.llm_router_cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"],
                           allow_headers=["*"], expose_headers=["x-request-id", "retry-after"],
                           allow_credentials=False)
    observed = {s.path: s.name for s in surfaces}
    observed.update({s.path.rstrip("/"): s.name for s in surfaces if s.path.endswith("/")})
    limits = HeaderLimits(settings.llm_router_max_header_bytes, settings.llm_router_max_headers_bytes,
                          settings.llm_router_max_headers)
    app.add_middleware(EdgeMiddleware, observer=observer, observed=observed, limits=limits)  # outermost


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
