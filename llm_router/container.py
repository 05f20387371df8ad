"""The Docker image's entry point: ``llm-router serve``, unless the container is published
beyond loopback without a gateway key.

Inside a container the service must listen on 0.0.0.0, so the address that matters is the
one the port is published on, which only the operator knows: ``LLM_ROUTER_BIND``
(compose sets it from its ``ports:`` address; the image's default, 0.0.0.0, assumes the
worst). Beyond loopback with no ``LLM_ROUTER_API_KEY`` (a placeholder counts as none),
anyone who can reach the port could spend the provider keys: refuse to start."""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping, Sequence

from llm_router.config.settings import Settings

EXIT_CONFIG = 78  # EX_CONFIG


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    host = host.strip().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(environ: Mapping[str, str], settings: Settings) -> str | None:
    """Why the container must not start, or None."""
    bind = environ.get("LLM_ROUTER_BIND", "0.0.0.0")
    if is_loopback(bind) or settings.llm_router_api_key is not None:
        return None
    return (f"llm-router: refusing to start: the port is published on {bind} (LLM_ROUTER_BIND) "
            "and LLM_ROUTER_API_KEY is not set. Set LLM_ROUTER_API_KEY (every API request then "
            "needs 'Authorization: Bearer <key>'), or publish on 127.0.0.1 only "
            "(LLM_ROUTER_BIND=127.0.0.1, compose's default).")


def main(argv: Sequence[str] | None = None) -> int:
    """Check, then replace this process with ``llm-router serve ARGS``."""
    problem = refusal(os.environ, Settings())
    if problem is not None:
        print(problem, file=sys.stderr)
        return EXIT_CONFIG
    args = list(sys.argv[1:] if argv is None else argv)
    os.execvp(sys.executable, [sys.executable, "-m", "llm_router", "serve", *args])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
