"""ASGI entry point for ``uvicorn llm_router.app:app``: the app is built on first access,
from the environment and ``.env``, so importing this module has no side effects."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "app":
        from llm_router.api.app import create_app

        globals()["app"] = application = create_app()
        return application
    raise AttributeError(name)
