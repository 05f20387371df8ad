"""Configuration: environment settings and deployments, validated once at start-up."""

from llm_router.config.deployment import Deployment, Timeouts
from llm_router.config.settings import Settings

__all__ = ["Deployment", "Settings", "Timeouts"]
