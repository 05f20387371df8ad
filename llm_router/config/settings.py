"""Settings from the environment and ``.env`` (the process environment wins)."""

from __future__ import annotations

from pathlib import Path
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
# OpenAI-compatible servers on this machine: name -> (default base URL, default model).
LOCAL_SERVERS = {
    "ollama": ("http://localhost:11434/v1", "llama3.2"),
    "vllm": ("http://localhost:8000/v1", ""),
    "llamacpp": ("http://localhost:8080/v1", ""),
    "lmstudio": ("http://localhost:1234/v1", ""),
}


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

    local_model_path: str | None = None
    local_model_preload: bool = False
    local_max_queue: int = Field(8, ge=0, le=10_000)
    local_context_tokens: int = Field(2048, ge=64)
    local_threads: int | None = Field(None, ge=1)
    local_weight_repack: bool = False
    ollama_base_url: str | None = None
    vllm_base_url: str | None = None
    llamacpp_base_url: str | None = None
    lmstudio_base_url: str | None = None
    ollama_api_key: SecretStr | None = None
    vllm_api_key: SecretStr | None = None
    llamacpp_api_key: SecretStr | None = None
    lmstudio_api_key: SecretStr | None = None

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
        result["local"] = self.local_deployment()
        for name, (url, model) in LOCAL_SERVERS.items():
            explicit = getattr(self, f"{name}_base_url")
            result[name] = Deployment(
                name=name, provider="openai-compatible", model=model, base_url=explicit or url,
                api_key=getattr(self, f"{name}_api_key"), timeouts=timeouts,
                options={"listed": explicit is not None},  # /health claims only what was set
            )
        return result

    def local_deployment(self) -> Deployment:
        """The in-process model: ``base_url`` is its GGUF file ("" means the bundled one)."""
        path = self.local_model_path or ""
        return Deployment(
            name="local", provider="local",
            model=Path(path).stem if path else "smollm2-135m-instruct",
            base_url=path, timeouts=self.timeouts(),
            options={"preload": self.local_model_preload, "max_queue": self.local_max_queue,
                     "context_tokens": self.local_context_tokens, "threads": self.local_threads,
                     "weight_repack": self.local_weight_repack},
        )
