"""Authentication for the API routes that are not data-plane surfaces (FastAPI dependencies).

- :func:`api_principal`: the data-plane chain's ``admit`` stage (gateway key, later virtual
  keys) for routes that sit beside the surfaces: ``GET /v1/models``, ``/openapi.json``.
- :func:`admin_or_api_principal`: either of the two (``/openapi.json``).
- :class:`AdminGuard`: admin routes (``/v1/usage`` and every ``/admin/*``) take the admin key
  (``LLM_ROUTER_ADMIN_KEY``); when only a gateway key is set, that key; when neither is set they
  are open, like everything else on a loopback-only service. With both keys set, the gateway
  key does not open admin routes and the admin key is not needed for the data plane: neither
  locks the other out.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from llm_router.errors import Unauthorized
from llm_router.observability.state import begin_request, current_state
from llm_router.policies.base import PolicyChain, Principal, RequestContext
from llm_router.policies.gateway_key import presented_key


async def api_principal(request: Request) -> Principal:
    """Who is calling, as the data-plane policies' ``admit`` decides (401 otherwise)."""
    chain: PolicyChain = request.app.state.policies
    state = current_state() or begin_request("-", "other")
    ctx = RequestContext("openai", request.headers, state)
    await chain.admit(ctx)
    return ctx.principal


class AdminGuard:
    """Checks the admin credential of an admin route."""

    def __init__(self, admin_key: str | None, gateway_key: str | None) -> None:
        key = admin_key or gateway_key
        self.key = key.encode() if key else None
        self.names = "LLM_ROUTER_ADMIN_KEY" if admin_key else "LLM_ROUTER_API_KEY"

    def check(self, request: Request) -> None:
        """Raise Unauthorized unless the request carries the admin credential."""
        if self.key is None:
            return
        given = presented_key(request.headers)
        if given is None or not hmac.compare_digest(given.encode(), self.key):
            raise Unauthorized(f"This route needs the admin key ({self.names}).")


async def require_admin(request: Request) -> None:
    """FastAPI dependency for admin routes."""
    guard: AdminGuard = request.app.state.admin_guard
    guard.check(request)


async def admin_or_api_principal(request: Request) -> None:
    """FastAPI dependency for routes both planes may read (``/openapi.json``): the admin
    credential, or whatever the data-plane policies admit."""
    guard: AdminGuard = request.app.state.admin_guard
    try:
        guard.check(request)
    except Unauthorized:
        await api_principal(request)
