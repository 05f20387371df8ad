"""The application factory: settings in, a FastAPI app out. Nothing global."""

from __future__ import annotations

import gc
import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import SecretStr
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from llm_router.api import openai_compat, operations
from llm_router.api.errors import error_response, surface_of, validation_error
from llm_router.api.middleware import BodyTooLarge, GatewayMiddleware
from llm_router.config.router_config import build_router_config
from llm_router.config.settings import Settings
from llm_router.errors import InvalidRequest, RouterError
from llm_router.gateway import Gateway
from llm_router.observability.logs import setup_logging
from llm_router.observability.metrics import Metrics
from llm_router.observability.observer import Observer
from llm_router.observability.pricing import PriceTable
from llm_router.observability.tracing import tracer_from_environment
from llm_router.observability.usage import UsageLedger
from llm_router.providers.factory import ChatModelFactory
from llm_router.providers.http import UpstreamClient
from llm_router.routing.router import Router

log = logging.getLogger("llm_router")


def create_app(settings: Settings | None = None, config_path: str | None = None) -> FastAPI:
    """Build the service from ``settings`` (read from the environment and ``.env`` if None)
    and the router config file at ``config_path`` (or ``LLM_ROUTER_CONFIG``), if any."""
    settings = settings or Settings()
    setup_logging(settings.llm_router_log_level, settings.llm_router_log_format)
    config = build_router_config(settings, config_path or settings.llm_router_config)
    http = UpstreamClient()
    factory = ChatModelFactory(config.deployments, http)
    router = Router(config, factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await http.start()
        await factory.start()
        gc.collect()
        gc.freeze()  # start-up objects leave the collector's view: later collections stay cheap
        log.info("llm-router ready; providers configured: %s", ", ".join(factory.available()) or "none")
        try:
            yield
        finally:
            factory.close()
            await http.close()

    app = GatewayApp(title="llm-router", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.gateway = Gateway(router, capture_content=settings.llm_router_log_content)
    app.state.metrics = Metrics()
    app.state.ledger = UsageLedger()
    app.state.admin_key = _secret(settings.llm_router_admin_key)
    observer = Observer(
        app.state.metrics, PriceTable(config.prices), app.state.ledger,
        deployment_price=factory.price_of,
        circuit_state=router.health.state, tracer=tracer_from_environment(),
        log_content=settings.llm_router_log_content,
    )
    for surface in (openai_compat.router, operations.router):
        app.include_router(surface)
    _add_error_handlers(app)
    app.front = GatewayMiddleware(app.handle, api_key=_secret(settings.llm_router_api_key),
                                  max_body_bytes=settings.llm_router_max_body_bytes, observer=observer,
                                  gateway=app.state.gateway)
    return app


class GatewayApp(FastAPI):
    """FastAPI with the GatewayMiddleware in front of its whole stack: the chat endpoints
    are answered there, without paying for FastAPI's per-request layers; every other route
    goes on to FastAPI as usual."""

    front: GatewayMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is None or scope["type"] != "http":
            await super().__call__(scope, receive, send)
        else:
            await self.front(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI's own handling, behind the front layer."""
        await super().__call__(scope, receive, send)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> Response:
        return validation_error(exc, surface_of(request))

    @app.exception_handler(BodyTooLarge)
    async def on_too_large(request: Request, exc: BodyTooLarge) -> Response:
        return error_response(InvalidRequest("Request body is too large.", None, 413), surface_of(request))

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
