"""The router config file (YAML): deployments, routes and settings, validated once.

Secrets are referenced as ``${VAR}`` (or ``${VAR:-default}``) and resolved from the
environment; an invalid file raises ConfigError naming the line and field."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from llm_router.config.litellm_import import is_litellm, litellm_config_text
from llm_router.errors import ConfigError
from llm_router.providers.registry import PROVIDERS
from llm_router.routing.strategies import Strategy

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _registered(name: str) -> str:
    if name not in PROVIDERS:
        raise ValueError(f"unknown provider '{name}'; expected one of: {', '.join(PROVIDERS)}")
    return name


ProviderName = Annotated[str, AfterValidator(_registered)]  # a row of providers/registry.py
# An unquoted YAML date (api_version: 2024-10-21) is the version it spells.
DateText = Annotated[str, BeforeValidator(lambda v: v.isoformat() if isinstance(v, date) else v)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeoutsIn(_Model):
    """Seconds; each optional."""

    connect: float | None = Field(None, gt=0)
    first_byte: float | None = Field(None, gt=0)
    stream_idle: float | None = Field(None, gt=0)
    total: float | None = Field(None, gt=0)


class PriceIn(_Model):
    """USD per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(None, ge=0)


class CacheIn(_Model):
    """A ``cache:`` block (route or deployment): answers kept ``ttl`` seconds; only
    deterministic requests (temperature 0 or a seed) unless ``nondeterministic``; entries
    per virtual key (``scope: key``) or shared by a key's team (``scope: team``)."""

    ttl: float = Field(gt=0, le=30 * 86_400)
    nondeterministic: bool = False
    scope: Literal["key", "team"] = "key"


class HedgeIn(_Model):
    """A route's ``hedge:`` block: after ``after_ms`` without first content, up to ``max``
    more attempts on the next deployments; ``tools``: hedge requests with tools too."""

    after_ms: int = Field(gt=0, le=600_000)
    max: int = Field(1, ge=1, le=3)
    tools: bool = False


class DeploymentIn(_Model):
    """One ``deployments:`` entry."""

    provider: ProviderName
    model: str = Field(min_length=1)
    api_key: str | None = None
    base_url: str | None = None
    model_path: str | None = None  # provider local: its GGUF file (default LOCAL_MODEL_PATH)
    weight: float = Field(1.0, ge=0)
    retries: int | None = Field(None, ge=0, le=10)
    timeouts: TimeoutsIn | None = None
    price: PriceIn | None = None
    max_concurrency: int | None = Field(None, gt=0)
    drop_params: bool = False
    max_output_tokens: int | None = Field(None, gt=0)  # a larger max_tokens is lowered to it
    embedding: bool = False  # an embedding model: /v1/embeddings only
    anthropic_version: str | None = None  # provider settings: config.deployment.PROVIDER_OPTIONS
    api_version: DateText | None = None
    region: str | None = None
    project: str | None = None
    location: str | None = None
    azure_ad_token: str | None = None  # Azure: an Entra ID bearer token (e.g. ${AZURE_AD_TOKEN})
    azure_auth: Literal["key", "entra"] | None = None  # Azure: entra = tokens from azure-identity
    cache: CacheIn | None = None

    @model_validator(mode="after")
    def _model_path_is_local(self) -> DeploymentIn:
        if self.model_path is not None and not PROVIDERS[self.provider].in_process:
            raise ValueError(f"model_path is for provider 'local', not '{self.provider}'")
        return self


class RouteIn(_Model):
    """One ``routes:`` entry: an alias for an ordered list of deployments."""

    strategy: Strategy = "fallback"
    deployments: list[str] = Field(min_length=1)
    cache: CacheIn | None = None
    hedge: HedgeIn | None = None
    resume: bool = False


class BackoffIn(_Model):
    base: float = Field(0.5, gt=0)
    max: float = Field(8.0, gt=0)


class CooldownIn(_Model):
    failures: int = Field(3, ge=1)
    base: float = Field(5.0, gt=0)
    max: float = Field(300.0, gt=0)


class RetryBudgetIn(_Model):
    ratio: float = Field(0.2, ge=0, le=1)
    minimum: int = Field(3, ge=0)


class SettingsIn(_Model):
    """The optional ``settings:`` block."""

    retries: int = Field(2, ge=0, le=10)
    timeouts: TimeoutsIn = TimeoutsIn()
    backoff: BackoffIn = BackoffIn()
    max_retry_after: float = Field(60.0, ge=0)
    cooldown: CooldownIn = CooldownIn()
    retry_budget: RetryBudgetIn = RetryBudgetIn()
    prices: dict[str, PriceIn] = Field(default_factory=dict)


class ConfigFile(_Model):
    """The whole file."""

    deployments: dict[str, DeploymentIn] = Field(default_factory=dict)
    routes: dict[str, RouteIn] = Field(default_factory=dict)
    settings: SettingsIn = SettingsIn()


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> ConfigFile:
    """Parse, substitute ``${VAR}`` and validate the file at ``path``."""
    environ = os.environ if environ is None else environ
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"Cannot read config file {path}: {exc.strerror}.") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    data = yaml.safe_load(text) or {}
    if is_litellm(data):  # a LiteLLM proxy config (model_list): read as ours, unmapped keys logged
        text = litellm_config_text(text, str(path))
        root, data = yaml.compose(text), yaml.safe_load(text)
    data = _substitute(data, environ, path, root)
    try:
        config = ConfigFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        raise ConfigError(f"{path}:{_line(root, loc)}: {'.'.join(map(str, loc))}: {first['msg']}") from None
    _check_references(config, path, root)
    return config


def _substitute(value: Any, environ: Mapping[str, str], path: str | Path, root: Any,
                loc: tuple[Any, ...] = ()) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, environ, path, root, (*loc, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, environ, path, root, (*loc, i)) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        where = ".".join(map(str, loc))
        raise ConfigError(f"{path}:{_line(root, loc)}: {where}: environment variable {name} is not set.")

    return _VARIABLE.sub(replace, value)


def _check_references(config: ConfigFile, path: str | Path, root: Any) -> None:
    for name, route in config.routes.items():
        for i, target in enumerate(route.deployments):
            if target not in config.deployments:
                loc = ("routes", name, "deployments", i)
                raise ConfigError(f"{path}:{_line(root, loc)}: routes.{name}.deployments: "
                                  f"unknown deployment '{target}'.")
        if name in config.deployments:
            raise ConfigError(f"{path}: '{name}' is both a route and a deployment.")
        if len({config.deployments[t].embedding for t in route.deployments}) > 1:
            raise ConfigError(f"{path}:{_line(root, ('routes', name))}: routes.{name}: mixes embedding "
                              "and chat deployments (a route's deployments are of one kind).")


def _line(node: Any, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the YAML node at ``loc`` (or of its nearest parent)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for key in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(key)), None)
            if child is None:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line
