"""The resolved routing configuration: environment providers plus the config file."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import SecretStr

from llm_router.config.deployment import (
    PROVIDER_OPTIONS,
    Deployment,
    DeploymentOptions,
    LocalOptions,
    Price,
    Timeouts,
)
from llm_router.config.file import (
    CacheIn,
    ConfigFile,
    DeploymentIn,
    PriceIn,
    RouteIn,
    TimeoutsIn,
    load_config,
)
from llm_router.config.settings import Settings
from llm_router.errors import ConfigError
from llm_router.providers.registry import PROVIDERS
from llm_router.routing.retry import RetryPolicy
from llm_router.routing.strategies import Strategy


@dataclass(frozen=True, slots=True)
class CacheRule:
    """The response cache of one route or deployment (``cache:`` in the file)."""

    ttl: float
    nondeterministic: bool = False
    scope: str = "key"  # "key": per virtual key; "team": shared by the key's team


@dataclass(frozen=True, slots=True)
class HedgeRule:
    """Hedged attempts of one route (``hedge:`` in the file)."""

    after: float  # seconds without first content before the next attempt starts
    max: int = 1
    tools: bool = False  # hedge requests that carry tools too


@dataclass(frozen=True, slots=True)
class Route:
    """An alias clients name, standing for deployments tried in a strategy's order."""

    name: str
    strategy: Strategy
    deployments: tuple[str, ...]
    hedge: HedgeRule | None = None
    resume: bool = False


@dataclass(frozen=True, slots=True)
class Cooldown:
    """The circuit breaker: ``failures`` in a row open a deployment's circuit for ``base``
    seconds, doubling on each failed probe up to ``max``."""

    failures: int = 3
    base: float = 5.0
    max: float = 300.0


@dataclass(frozen=True, slots=True)
class RetryBudgetConfig:
    """Retries sent in the last 10 s: at most ``ratio`` of that window's requests, plus ``minimum``."""

    ratio: float = 0.2
    minimum: int = 3


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """Everything routing needs, validated and frozen."""

    deployments: dict[str, Deployment]
    routes: dict[str, Route] = field(default_factory=dict)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    cooldown: Cooldown = field(default_factory=Cooldown)
    retry_budget: RetryBudgetConfig = field(default_factory=RetryBudgetConfig)
    prices: dict[str, Price] = field(default_factory=dict)
    #: Response cache rules by route or deployment name (names are unique across both).
    caches: dict[str, CacheRule] = field(default_factory=dict)


def build_router_config(settings: Settings, path: str | Path | None = None) -> RouterConfig:
    """Environment deployments, plus the file's deployments, routes and settings."""
    deployments = settings.provider_deployments()
    if path is None:
        # Environment-only: one attempt per request, errors mapped as they come.
        return RouterConfig(deployments, policy=RetryPolicy(retries=settings.llm_router_retries))
    config: ConfigFile = load_config(path)
    timeouts = _merge(settings.timeouts(), config.settings.timeouts)
    for name, entry in config.deployments.items():
        deployments[name] = _deployment(name, entry, deployments, timeouts)
    s = config.settings
    return RouterConfig(
        deployments=deployments,
        routes={n: _route(n, r) for n, r in config.routes.items()},
        policy=RetryPolicy(s.retries, s.backoff.base, s.backoff.max, s.max_retry_after),
        cooldown=Cooldown(s.cooldown.failures, s.cooldown.base, s.cooldown.max),
        retry_budget=RetryBudgetConfig(s.retry_budget.ratio, s.retry_budget.minimum),
        prices={model: _price(p) for model, p in s.prices.items()},
        caches=_caches(config),
    )


def _route(name: str, entry: RouteIn) -> Route:
    hedge = entry.hedge
    rule = HedgeRule(hedge.after_ms / 1000, hedge.max, hedge.tools) if hedge is not None else None
    return Route(name, entry.strategy, tuple(entry.deployments), rule, entry.resume)


def _caches(config: ConfigFile) -> dict[str, CacheRule]:
    entries: dict[str, CacheIn | None] = {n: d.cache for n, d in config.deployments.items()}
    entries.update({n: r.cache for n, r in config.routes.items()})
    return {n: CacheRule(c.ttl, c.nondeterministic, c.scope) for n, c in entries.items() if c is not None}


def _deployment(name: str, entry: DeploymentIn, env: dict[str, Deployment], timeouts: Timeouts) -> Deployment:
    """A file entry over its provider's environment deployment (key, base URL, options)."""
    spec = PROVIDERS[entry.provider]
    base = env.get(entry.provider)
    local = _local_options(entry, base) if spec.in_process else None
    base_url = "" if spec.in_process else entry.base_url or (base.base_url if base else None)
    if base_url is None:
        raise ConfigError(f"deployments.{name}.base_url is required for provider '{entry.provider}'.")
    key = SecretStr(entry.api_key) if entry.api_key else (base.api_key if base else None)
    # The provider settings of the environment (ANTHROPIC_VERSION...) unless the entry sets its own.
    inherited = base.options if base else DeploymentOptions()
    own = {name: value for name in PROVIDER_OPTIONS if (value := getattr(entry, name)) is not None}
    options = replace(inherited, drop_params=entry.drop_params, listed=True, **own,
                      max_output_tokens=entry.max_output_tokens, embedding=entry.embedding)
    return Deployment(
        name=name, provider=spec.provider, model=entry.model, base_url=base_url, api_key=key,
        timeouts=_merge(timeouts, entry.timeouts), options=options, weight=entry.weight,
        retries=entry.retries, price=_price(entry.price) if entry.price else None,
        max_concurrency=entry.max_concurrency, local=local, spec_name=spec.name,
    )


def _local_options(entry: DeploymentIn, base: Deployment | None) -> LocalOptions:
    """The environment's LOCAL_* options, with the entry's own model file (``model_path``;
    ``base_url`` is still read for it, as older files say)."""
    options = base.local if base is not None and base.local is not None else LocalOptions()
    path = entry.model_path or entry.base_url
    return replace(options, model_path=path) if path else options


def _merge(timeouts: Timeouts, override: TimeoutsIn | None) -> Timeouts:
    if override is None:
        return timeouts
    return replace(timeouts, **{k: v for k, v in override.model_dump().items() if v is not None})


def _price(price: PriceIn) -> Price:
    return Price(price.input, price.output, price.cached_input)
