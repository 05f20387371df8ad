"""The policy seam: every data-plane request, on every surface, passes one chain, here.

    client ─▶ edge middleware (request id, RequestState, Observer)
            ─▶ data-plane endpoint (api/endpoint.py)
                 chain.admit(ctx)    headers only, before the body is read:
                                     authentication (gateway key, virtual keys)
                 body read under the size limit (a policy too: ``max_body_bytes``)
                 the surface decodes the body into a canonical request
                 chain.check(ctx)    in the gateway, before routing, in chain order:
                                     model access → rate limits → budget reservation → (cache)
                 router: attempts, retries, fallbacks
                 response (or stream) sent
                 chain.settle(ctx)   after the response is over, success or not, for every policy
                                     whose ``check`` ran, in reverse order: correct token counts,
                                     reconcile the budget with the real cost, release slots.

A policy refuses by raising a :class:`~llm_router.errors.RouterError` (``Unauthorized``,
``PermissionDenied``, ``RateLimited``, ``BudgetExceeded``...); the one error renderer turns
it into the surface's error shape. A policy may add response headers (``ctx.response_headers``:
rate-limit headers, say) which every surface sends. Policies hold no module globals: what they
count lives in the stores they are given at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.datastructures import Headers

from llm_router.messages import ChatRequest
from llm_router.observability.state import RequestState

__all__ = ["BasePolicy", "PolicyChain", "Principal", "RequestContext"]


@dataclass(slots=True)
class Principal:
    """Who is calling. ``anonymous`` when no key is configured, ``master`` for the gateway
    key, ``virtual`` for a virtual key (``key_id``/``team_id`` set by the key policy)."""

    kind: Literal["anonymous", "master", "virtual"] = "anonymous"
    key_id: str | None = None
    team_id: str | None = None
    #: Models this principal may use (route names, deployment names, ``provider/*``); None: any.
    models: tuple[str, ...] | None = None
    #: The key policy's own record (limits, budgets) for the policies after it.
    data: Any = None


@dataclass(slots=True)
class RequestContext:
    """One data-plane request as the policies see it."""

    surface: str
    headers: Headers
    state: RequestState
    principal: Principal = field(default_factory=Principal)
    #: The model name the client asked for (set once the body is decoded).
    model: str = ""
    #: The canonical request, for surfaces that have one (chat-like surfaces).
    request: ChatRequest | None = None
    #: Tokens the request is expected to use (prompt estimate + max output), for tpm/budgets.
    estimated_tokens: int = 0
    #: The prompt estimate of ``request`` once made (``estimate.prompt_tokens``): made once,
    #: shared by the rate limits and the budget.
    prompt_estimate: int | None = None
    #: Set before ``settle``: the request's real cost in USD, when known.
    cost_usd: float | None = None
    #: Headers every surface adds to its response (rate-limit headers, dropped params...).
    response_headers: dict[str, str] = field(default_factory=dict)
    #: Policies whose ``check`` passed (``settle`` runs for these).
    checked: list[BasePolicy] = field(default_factory=list)


class BasePolicy:
    """A policy: override what it needs; each stage is a no-op by default."""

    name: str = "policy"

    async def admit(self, ctx: RequestContext) -> None:
        """Before the body is read; raise to refuse."""

    async def check(self, ctx: RequestContext) -> None:
        """After the body is decoded, before routing; raise to refuse."""

    async def settle(self, ctx: RequestContext) -> None:
        """After the response is over (also after failures); must not raise."""


def _overrides(policy: BasePolicy, stage: str) -> bool:
    return getattr(type(policy), stage) is not getattr(BasePolicy, stage)


class PolicyChain:
    """The ordered policies of the data plane; ``admit``/``check`` stop at the first refusal.

    A stage a policy does not override is a no-op and is not called (an await less per
    policy and request); ``ctx.checked`` still lists every policy whose ``check`` passed."""

    def __init__(self, policies: Sequence[BasePolicy] = ()) -> None:
        self.policies = tuple(policies)
        self._admits = tuple(p for p in self.policies if _overrides(p, "admit"))
        self._checks = tuple((p, _overrides(p, "check")) for p in self.policies)
        self._settles = frozenset(id(p) for p in self.policies if _overrides(p, "settle"))

    async def admit(self, ctx: RequestContext) -> None:
        """Run every policy's ``admit`` in order."""
        for policy in self._admits:
            await policy.admit(ctx)

    async def check(self, ctx: RequestContext) -> None:
        """Run every policy's ``check`` in order, remembering which passed."""
        for policy, run in self._checks:
            if run:
                await policy.check(ctx)
            ctx.checked.append(policy)

    async def settle(self, ctx: RequestContext) -> None:
        """Run ``settle`` for every policy whose ``check`` passed, last first."""
        while ctx.checked:
            policy = ctx.checked.pop()
            if id(policy) in self._settles:
                await policy.settle(ctx)
