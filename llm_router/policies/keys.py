"""The key policy: authentication at ``admit``, model access at ``check``.

With the admin plane on, every data-plane request needs a credential: the gateway key
(``LLM_ROUTER_API_KEY``, a master key: no rules apply) or a virtual key. A virtual key
whose ``models`` (or whose team's ``models``) are set may use only those names: exact
route, deployment or model names, ``provider/*`` patterns, or ``*``. Both lists apply
when both are set. A route is allowed by name, or when every deployment it can use is."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from llm_router.errors import PermissionDenied
from llm_router.policies.auth import Authenticator, VirtualAuth
from llm_router.policies.base import BasePolicy, Principal, RequestContext
from llm_router.policies.gateway_key import credential
from llm_router.storage.usage_sink import RequestOwners

#: For a model name, what it stands for: one entry per deployment it may reach, each with
#: that deployment's names (say ``("openai-main", "openai/gpt-4.1")``); empty when the
#: name is not a route.
Targets = Callable[[str], Sequence[Sequence[str]]]


def _matches(pattern: str, name: str) -> bool:
    if pattern in ("*", name):
        return True
    return pattern.endswith("/*") and name.startswith(pattern[:-1]) and len(name) > len(pattern) - 1


def allowed_by(patterns: Sequence[str] | None, name: str, targets: Sequence[Sequence[str]] = ()) -> bool:
    """Whether one list of patterns lets ``name`` through (None: no restriction): by its
    own name, or because every deployment it reaches is allowed under one of its names."""
    if patterns is None:
        return True
    if any(_matches(p, name) for p in patterns):
        return True
    return bool(targets) and all(any(_matches(p, n) for p in patterns for n in _names(names))
                                 for names in targets)


def _names(target: str | Sequence[str]) -> Sequence[str]:
    """A bare string is one name (never its characters): a flat list is read strictly."""
    return (target,) if isinstance(target, str) else target


def model_allowed(principal: Principal, name: str, targets: Sequence[Sequence[str]] = ()) -> bool:
    """Whether ``principal`` may use ``name`` (its key's and its team's lists both apply)."""
    auth = principal.data
    if not isinstance(auth, VirtualAuth):
        return True
    team_models = auth.team.rules.models if auth.team else None
    return allowed_by(auth.key.rules.models, name, targets) and allowed_by(team_models, name, targets)


def visible_models(principal: Principal, names: Iterable[str], targets: Targets | None = None) -> list[str]:
    """The names ``GET /v1/models`` may list for ``principal``."""
    return [n for n in names if model_allowed(principal, n, targets(n) if targets else ())]


class KeyPolicy(BasePolicy):
    """Authenticates (admit) and enforces the model list (check)."""

    name = "keys"

    def __init__(self, authenticator: Authenticator, owners: RequestOwners,
                 targets: Targets | None = None) -> None:
        self.authenticator = authenticator
        self.owners = owners
        self.targets = targets

    async def admit(self, ctx: RequestContext) -> None:
        principal = await self.authenticator.authenticate(credential(ctx.headers))
        ctx.principal = principal
        if principal.kind == "virtual":
            self.owners.set(ctx.state.uid, principal.key_id, principal.team_id)

    async def check(self, ctx: RequestContext) -> None:
        name = ctx.model
        if not model_allowed(ctx.principal, name, self.targets(name) if self.targets else ()):
            shown = name if len(name) <= 100 and name.isprintable() else repr(name[:100])
            raise PermissionDenied(f"This API key may not use model '{shown}'.", param="model")
