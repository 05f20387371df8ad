"""llm-router: one small, fast API in front of many LLM providers.

Public names: :func:`create_app`, :class:`ChatModel`, :class:`ChatModelFactory`,
:class:`Settings`, and the canonical types in :mod:`llm_router.messages`.
"""

from llm_router.api.app import create_app
from llm_router.config.settings import Settings
from llm_router.providers.base import ChatModel
from llm_router.providers.factory import ChatModelFactory

__all__ = ["ChatModel", "ChatModelFactory", "Settings", "create_app"]
__version__ = "0.1.0"
