"""Configuration: environment settings and deployments, validated once at start-up.

``Settings`` is imported lazily: the settings read the provider registry, whose model
classes import :mod:`llm_router.config.deployment`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llm_router.config.deployment import Deployment, DeploymentOptions, LocalOptions, Timeouts

if TYPE_CHECKING:
    from llm_router.config.settings import Settings

__all__ = ["Deployment", "DeploymentOptions", "LocalOptions", "Settings", "Timeouts"]


def __getattr__(name: str) -> Any:
    if name == "Settings":
        from llm_router.config.settings import Settings

        return Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
