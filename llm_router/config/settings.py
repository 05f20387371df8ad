"""Settings from the environment and ``.env`` (the process environment wins)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from llm_router.config.deployment import Deployment, Timeouts

DEFAULT_MODELS = {
    "openai": "gpt-4.1-mini",
    "anthropic": "claude-sonnet-4-5",
    "cohere": "command-a-03-2025",
}
PROVIDER_NAMES = tuple(DEFAULT_MODELS)


class Settings(BaseSettings):
    """Everything the service reads from its environment, validated at start-up."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    openai_api_key: SecretStr | None = None
    anthropic_api_key: SecretStr | None = None
    cohere_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    anthropic_base_url: str = "https://api.anthropic.com"
    cohere_base_url: str = "https://api.cohere.com"
    openai_model: str = DEFAULT_MODELS["openai"]
    anthropic_model: str = DEFAULT_MODELS["anthropic"]
    cohere_model: str = DEFAULT_MODELS["cohere"]
    anthropic_version: str = "2023-06-01"

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

    def timeouts(self) -> Timeouts:
        """The default timeouts for every deployment."""
        return Timeouts(
            connect=self.llm_router_connect_timeout,
            first_byte=self.llm_router_first_byte_timeout,
            stream_idle=self.llm_router_stream_idle_timeout,
            total=self.llm_router_total_timeout,
        )

    def provider_deployments(self) -> dict[str, Deployment]:
        """One deployment per provider, keyed by provider name; keyless ones included."""
        timeouts = self.timeouts()
        result: dict[str, Deployment] = {}
        for name in PROVIDER_NAMES:
            result[name] = Deployment(
                name=name,
                provider=name,
                model=getattr(self, f"{name}_model"),
                base_url=getattr(self, f"{name}_base_url"),
                api_key=getattr(self, f"{name}_api_key"),
                timeouts=timeouts,
                options={"anthropic_version": self.anthropic_version}
                if name == "anthropic" else {},
            )
        return result
