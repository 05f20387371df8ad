"""What the app factory plugs together: the policy chain (with or without the admin plane)
and the lookups the admin plane's policies need from routing (prices, a route's targets)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import SecretStr

from llm_router.config.deployment import Deployment, Price
from llm_router.config.settings import Settings
from llm_router.errors import RouterError
from llm_router.observability.pricing import PriceTable
from llm_router.policies.base import BasePolicy
from llm_router.policies.gateway_key import BodyLimitPolicy, GatewayKeyPolicy
from llm_router.policies.model_name import ModelNamePolicy
from llm_router.routing.router import Router
from llm_router.scaleout import ScaleOut

if TYPE_CHECKING:
    from llm_router.admin_plane import AdminPlane


def secret(value: SecretStr | None) -> str | None:
    """The value of a secret setting, or None."""
    return value.get_secret_value() if value is not None else None


def policy_chain(settings: Settings, plane: AdminPlane | None) -> list[BasePolicy]:
    """The data-plane policies in their fixed order. ``admit``: authentication (gateway key;
    with the admin plane, virtual keys too), body limit. ``check``: model name, model access,
    rate limits, budget reservation."""
    body = BodyLimitPolicy(settings.llm_router_max_body_bytes)
    if plane is None:
        return [ModelNamePolicy(), GatewayKeyPolicy(secret(settings.llm_router_api_key)), body]
    keys, *rest = plane.policies
    return [ModelNamePolicy(), keys, body, *rest]


def admin_plane(settings: Settings, router: Router, prices: PriceTable,
                scaleout: ScaleOut | None = None) -> AdminPlane | None:
    """The admin plane (None unless ``LLM_ROUTER_ADMIN_KEY`` is set), told how to price a
    model name and what a route stands for; with ``scaleout`` (``LLM_ROUTER_REDIS_URL``), its
    counters and key cache are shared with the other replicas. Its database stack (SQLAlchemy,
    Alembic, the drivers) is imported only when it is on."""
    if settings.llm_router_admin_key is None:
        return None
    from llm_router.admin_plane import build_admin_plane

    plane = build_admin_plane(price_for=_price_for(router, prices), targets=_targets(router),
                              counters=scaleout.counters if scaleout is not None else None)
    if plane is not None and scaleout is not None:
        scaleout.attach(plane)
    return plane


def _deployment_of(router: Router, name: str) -> Deployment | None:
    try:
        return router.plan(name)[1][0]
    except (RouterError, IndexError):
        return None


def _price_for(router: Router, prices: PriceTable) -> Callable[[str], Price | None]:
    def price_for(name: str) -> Price | None:
        deployment = _deployment_of(router, name)
        if deployment is None:
            return prices.lookup(name.split("/", 1)[-1])
        return prices.lookup(deployment.model, deployment.price)

    return price_for


def _targets(router: Router) -> Callable[[str], Sequence[Sequence[str]]]:
    """For a route, the names of each deployment it can use (its own name and
    ``provider/model``): a key allowed every one of them may use the route."""

    def targets(name: str) -> Sequence[Sequence[str]]:
        route = router.config.routes.get(name)
        if route is None:
            return ()
        deployments = (router.factory.deployments[n] for n in route.deployments)
        return [(d.name, f"{d.provider}/{d.model}") for d in deployments]

    return targets
