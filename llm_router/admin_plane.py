"""The admin plane, built in one place: database, virtual keys, policies, ledger, admin API.

On when ``LLM_ROUTER_ADMIN_KEY`` is set (at least 32 characters, else start-up fails).
Wiring, in ``create_app``::

    plane = build_admin_plane(price_for=..., targets=...)   # None when the plane is off
    if plane:
        plane.install(app)                # app.state.admin, the /admin router
        chain = PolicyChain(plane.policies)   # keys -> limits -> budget
        observer sinks += (plane.usage_sink,)
        await plane.start() in the lifespan, await plane.close() on shutdown

Settings (environment or ``.env``): ``LLM_ROUTER_DATABASE_URL`` (default
``sqlite:///./llm-router.db``), ``LLM_ROUTER_ADMIN_KEY``, ``LLM_ROUTER_API_KEY`` (a master
key for the data plane), ``LLM_ROUTER_KEY_PEPPER`` (HMAC pepper of stored key hashes;
derived from the admin key when unset), ``LLM_ROUTER_AUTH_CACHE_TTL`` (seconds another
instance may still accept a revoked key; default 10), ``LLM_ROUTER_USAGE_FLUSH_INTERVAL``
(ledger batch interval, at most 1 s), ``LLM_ROUTER_MIGRATE_ON_START`` (default true)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

from llm_router.admin_service import AdminService
from llm_router.config.deployment import Price
from llm_router.errors import ConfigError
from llm_router.policies.auth import AuthCache, Authenticator
from llm_router.policies.base import BasePolicy, Principal
from llm_router.policies.budget import BudgetPolicy
from llm_router.policies.counters import CounterStore, InProcessCounters
from llm_router.policies.keys import KeyPolicy, Targets, visible_models
from llm_router.policies.limits import RateLimitPolicy
from llm_router.storage.engine import DEFAULT_DATABASE_URL, async_url, describe_url, make_engine, upgrade
from llm_router.storage.keysecrets import KeyHasher, derive_pepper
from llm_router.storage.ledger import GroupBy, Ledger, since_window
from llm_router.storage.repository import Repository
from llm_router.storage.usage_sink import DatabaseUsageSink, RequestOwners

log = logging.getLogger("llm_router.admin")
MIN_ADMIN_KEY_CHARS = 32


class AdminSettings(BaseSettings):
    """The admin plane's settings, validated once."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      frozen=True)

    llm_router_database_url: str = DEFAULT_DATABASE_URL
    llm_router_admin_key: SecretStr | None = None
    llm_router_api_key: SecretStr | None = None
    llm_router_key_pepper: SecretStr | None = None
    llm_router_auth_cache_ttl: float = Field(10.0, ge=0, le=300)
    llm_router_usage_flush_interval: float = Field(0.5, gt=0, le=1.0)
    llm_router_migrate_on_start: bool = True


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None and value.get_secret_value() else None


class AdminPlane:
    """Everything the admin plane adds to the app; see the module docstring for wiring."""

    def __init__(self, settings: AdminSettings, admin_key: str, engine: AsyncEngine,
                 counters: CounterStore, price_for: Callable[[str], Price | None] | None,
                 targets: Targets | None, database_schema: str | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.database_schema = database_schema
        url = async_url(settings.llm_router_database_url)
        #: Where the data lives, for the start-up log (no password; SQLite: the absolute path).
        self.database_location = describe_url(url)
        if url.drivername.startswith("sqlite") and url.database:
            self.database_location = f"SQLite file {os.path.abspath(url.database)}"
        self.repository = Repository(engine)
        self.ledger = Ledger(engine)
        self.owners = RequestOwners()
        self.cache = AuthCache(ttl=settings.llm_router_auth_cache_ttl)
        pepper = derive_pepper(admin_key, _secret(settings.llm_router_key_pepper))
        self.authenticator = Authenticator(self.repository, KeyHasher(pepper),
                                           _secret(settings.llm_router_api_key), self.cache)
        self.counters = counters
        self.usage_sink = DatabaseUsageSink(self.ledger, self.owners,
                                            interval=settings.llm_router_usage_flush_interval)
        self.service = AdminService(admin_key, self.authenticator, self.repository, self.ledger,
                                    self.usage_sink)
        self.targets = targets
        #: The data-plane policies, in seam order: keys (auth, model access) -> limits -> budget.
        self.policies: list[BasePolicy] = [
            KeyPolicy(self.authenticator, self.owners, targets),
            RateLimitPolicy(counters),
            BudgetPolicy(counters, self.ledger.spend_micros, price_for),
        ]

    @property
    def router(self) -> APIRouter:
        """The ``/admin`` routes."""
        from llm_router.api.admin import router

        return router

    def install(self, app: FastAPI) -> None:
        """Expose the services to the admin routes and mount them."""
        app.state.admin = self
        app.include_router(self.router)

    async def start(self) -> None:
        """Migrate the schema (unless disabled) and start the ledger writer."""
        log.info("admin plane on; database %s", self.database_location)
        if self.settings.llm_router_migrate_on_start:
            await upgrade(self.engine)
        self.usage_sink.start()

    async def close(self) -> None:
        """Write the last ledger rows and close the database."""
        try:
            await self.usage_sink.close()
        finally:
            await self.engine.dispose()

    def visible_models(self, principal: Principal, names: list[str]) -> list[str]:
        """The model names ``GET /v1/models`` may show ``principal``."""
        return visible_models(principal, names, self.targets)

    async def usage_totals(self, window: float, group_by: GroupBy,
                           principal: Principal | None = None) -> list[dict[str, Any]]:
        """Ledger totals for ``/v1/usage``: a virtual key sees only its own requests."""
        await self.service.flush()
        key_id = principal.key_id if principal is not None and principal.kind == "virtual" else None
        if principal is not None and principal.kind == "virtual" and key_id is None:
            return []
        return await self.ledger.totals(since_window(window), group_by, key_id=key_id)


def build_admin_plane(settings: AdminSettings | None = None, *,
                      price_for: Callable[[str], Price | None] | None = None,
                      targets: Targets | None = None, counters: CounterStore | None = None,
                      database_schema: str | None = None) -> AdminPlane | None:
    """The admin plane, or None when ``LLM_ROUTER_ADMIN_KEY`` is unset.

    ``price_for(model)``: the price a budget reservation uses for a requested model name
    (route, deployment or provider/model); default: the shipped price table. ``targets``:
    see ``policies.keys``. ``counters``: the counter store (default: in process)."""
    settings = settings or AdminSettings()
    admin_key = _secret(settings.llm_router_admin_key)
    if admin_key is None:
        return None
    if len(admin_key) < MIN_ADMIN_KEY_CHARS:
        raise ConfigError(f"LLM_ROUTER_ADMIN_KEY must be at least {MIN_ADMIN_KEY_CHARS} characters "
                          "(try: python -c 'import secrets; print(secrets.token_urlsafe(32))').")
    api_key = _secret(settings.llm_router_api_key)
    if api_key is not None and api_key == admin_key:
        raise ConfigError("LLM_ROUTER_ADMIN_KEY must differ from LLM_ROUTER_API_KEY.")
    engine = make_engine(settings.llm_router_database_url, schema=database_schema)
    return AdminPlane(settings, admin_key, engine, counters or InProcessCounters(), price_for, targets,
                      database_schema)
