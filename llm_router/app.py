"""ASGI entry point for ``uvicorn llm_router.app:app``: the app is built on first access,
from the environment and ``.env``, so importing this module has no side effects.

Run this way, the service logs as ``llm-router serve`` does (JSON lines, uvicorn's access
lines included) and warns in the same way when it listens beyond loopback without
``LLM_ROUTER_API_KEY``: the address is read from uvicorn's command line (``--host``) or
``UVICORN_HOST``; uvicorn's default is 127.0.0.1."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any


def uvicorn_host(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The address uvicorn's command line binds (None for a socket or file descriptor)."""
    host = environ.get("UVICORN_HOST", "127.0.0.1")
    for index, arg in enumerate(argv):
        if arg in ("--uds", "--fd") or arg.startswith(("--uds=", "--fd=")):
            return None
        if arg == "--host" and index + 1 < len(argv):
            host = argv[index + 1]
        elif arg.startswith("--host="):
            host = arg.partition("=")[2]
    return host


def __getattr__(name: str) -> Any:
    if name == "app":
        from llm_router.api.app import create_app, warn_if_exposed
        from llm_router.config.settings import Settings

        settings = Settings()
        globals()["app"] = application = create_app(settings)
        host = uvicorn_host(sys.argv, os.environ)
        if host is not None:
            warn_if_exposed(host, settings)
        return application
    raise AttributeError(name)
