"""Settings from the environment and ``.env`` (the process environment wins).

Provider values (``OPENAI_API_KEY``, ``OLLAMA_BASE_URL``, ...) are read generically: the
variables each registry row names (``ProviderSpec.variables``) are gathered, from init
arguments, the environment and ``.env`` in that order of precedence, into
``Settings.providers``, validated once like every other field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources import EnvSettingsSource

from llm_router.config.deployment import Deployment, DeploymentOptions, LocalOptions, Timeouts
from llm_router.providers.registry import PROVIDERS, ProviderSpec, keyed_providers

PROVIDER_NAMES = keyed_providers()  # the providers that need a key, in registry order


class ProviderValues(BaseModel):
    """One provider's environment values; None where the variable is not set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr | None = None
    base_url: str | None = None
    model: str | None = None
    options: Mapping[str, str] = Field(default_factory=dict)  # DeploymentOptions fields


class _ProviderVariables(PydanticBaseSettingsSource):
    """The registry's provider variables found in one mapping (environment or ``.env``),
    as lower-case names; ``Settings`` gathers them into ``providers``."""

    def __init__(self, settings_cls: type[BaseSettings], source: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self.found = dict(source.env_vars) if isinstance(source, EnvSettingsSource) else {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # not used: __call__ answers for every variable at once

    def __call__(self) -> dict[str, Any]:
        names = (variable.lower() for spec in PROVIDERS.values()
                 for _, variable in (*spec.variables(), *spec.option_variables))
        return {name: self.found[name] for name in names if self.found.get(name) is not None}


class Settings(BaseSettings):
    """Everything the service reads from its environment, validated at start-up."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    providers: Mapping[str, ProviderValues] = Field(default_factory=dict)  # see the module docstring

    local_model_path: str | None = None
    local_model_preload: bool = False
    local_max_queue: int = Field(8, ge=0, le=10_000)
    local_context_tokens: int = Field(2048, ge=64)
    local_threads: int | None = Field(None, ge=1)
    local_tool_calls: Literal["auto", "first"] = "auto"
    local_weight_repack: bool = False

    llm_router_api_key: SecretStr | None = None
    llm_router_config: str | None = None
    llm_router_retries: int = Field(0, ge=0, le=10)
    llm_router_connect_timeout: float = Field(5.0, gt=0)
    llm_router_first_byte_timeout: float = Field(120.0, gt=0)
    llm_router_stream_idle_timeout: float = Field(60.0, gt=0)
    llm_router_total_timeout: float = Field(600.0, gt=0)
    llm_router_max_body_bytes: int = Field(10 * 1024 * 1024, gt=0)
    llm_router_log_level: str = "INFO"
    llm_router_log_format: Literal["json", "text"] = "json"
    llm_router_log_content: bool = False
    llm_router_admin_key: SecretStr | None = None
    llm_router_cors_origins: str = ""  # comma-separated origins; empty: no CORS headers at all
    # Client-side limits (bad-input matrix I12, I16): one header, all headers, their count,
    # and how long a client may take to send its headers and its body.
    llm_router_max_header_bytes: int = Field(8 * 1024, gt=0)
    llm_router_max_headers_bytes: int = Field(32 * 1024, gt=0)
    llm_router_max_headers: int = Field(100, gt=0)
    llm_router_header_timeout: float = Field(10.0, gt=0)
    llm_router_body_timeout: float = Field(30.0, gt=0)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, each followed by the registry's provider variables it holds."""
        return (init_settings, env_settings, _ProviderVariables(settings_cls, env_settings),
                dotenv_settings, _ProviderVariables(settings_cls, dotenv_settings), file_secret_settings)

    @model_validator(mode="before")
    @classmethod
    def _gather_providers(cls, data: Any) -> Any:
        """Fold ``openai_api_key``-style values (any source) into ``providers``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        gathered: dict[str, Any] = {}
        for spec in PROVIDERS.values():
            values: dict[str, Any] = {name: data.pop(variable.lower()) for name, variable in spec.variables()
                                      if variable.lower() in data}
            options = {name: data.pop(variable.lower()) for name, variable in spec.option_variables
                       if variable.lower() in data}
            if options:
                values["options"] = options
            if values:
                gathered[spec.name] = values
        data["providers"] = {**gathered, **(data.get("providers") or {})}
        return data

    def timeouts(self) -> Timeouts:
        """The default timeouts for every deployment."""
        return Timeouts(
            connect=self.llm_router_connect_timeout,
            first_byte=self.llm_router_first_byte_timeout,
            stream_idle=self.llm_router_stream_idle_timeout,
            total=self.llm_router_total_timeout,
        )

    def provider(self, name: str) -> ProviderValues:
        """The environment values of registry row ``name`` (all None when none is set)."""
        return self.providers.get(name) or ProviderValues()

    def provider_deployments(self) -> dict[str, Deployment]:
        """One deployment per environment row of the registry, named after the row;
        keyless ones included."""
        timeouts = self.timeouts()
        result: dict[str, Deployment] = {}
        for spec in PROVIDERS.values():
            if spec.in_process:
                result[spec.name] = self.local_deployment()
            elif spec.from_environment:
                result[spec.name] = self._environment_deployment(spec, timeouts)
        return result

    def _environment_deployment(self, spec: ProviderSpec, timeouts: Timeouts) -> Deployment:
        values = self.provider(spec.name)
        # A local server is listed (/health, /v1/models) only once its base URL was set; a cloud
        # row without a key of its own (Bedrock, Vertex) once its base URL or an option is set.
        listed = values.base_url is not None or bool(values.options) or not spec.listed_only_if_base_url_set
        provider_options: dict[str, Any] = dict(values.options)  # ANTHROPIC_VERSION...
        return Deployment(
            name=spec.name, provider=spec.provider, model=values.model or spec.default_model,
            base_url=values.base_url or spec.default_base_url or "", api_key=values.api_key,
            timeouts=timeouts, options=replace(DeploymentOptions(listed=listed), **provider_options),
            spec_name=spec.name,
        )

    def local_options(self) -> LocalOptions:
        """The LOCAL_* settings; ``model_path`` None means the bundled model."""
        return LocalOptions(
            model_path=self.local_model_path or None, preload=self.local_model_preload,
            max_queue=self.local_max_queue, context_tokens=self.local_context_tokens,
            threads=self.local_threads, weight_repack=self.local_weight_repack,
            tool_calls=self.local_tool_calls,
        )

    def local_deployment(self) -> Deployment:
        """The in-process model, named after its file (or the bundled model's name)."""
        spec = PROVIDERS["local"]
        options = self.local_options()
        path = options.model_path
        return Deployment(
            name=spec.name, provider=spec.provider,
            model=Path(path).stem if path else spec.default_model,
            base_url="", timeouts=self.timeouts(), local=options, spec_name=spec.name,
        )

    @model_validator(mode="before")
    @classmethod
    def _placeholders_are_not_keys(cls, data: Any) -> Any:
        """A placeholder key (``<...>``, ``your-key-here``, empty) is unset, with a warning
        naming the variable (see ``config/placeholders.py``)."""
        from llm_router.config.placeholders import drop_placeholders

        return drop_placeholders(data, cls.model_fields, PROVIDERS)
