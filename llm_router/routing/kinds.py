"""Chat or embedding: which surface a model name may be sent to.

A config deployment declared ``embedding: true`` serves ``/v1/embeddings`` only: a chat
request (Chat Completions, Messages, Responses) naming it, or a route of such deployments,
is a 400 naming the model. Once any deployment is declared so, an embeddings request naming
a route or deployment that is not declared embedding is a 400 naming the model and the
embedding models there are. Without any declaration every name may be asked for embeddings
(the upstream decides, as before), and a ``provider/model`` name is always the client's own
choice of upstream model (usable on both surfaces, unless its provider row is an embedding
deployment). A route never mixes the two kinds (the config file refuses it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llm_router.errors import InvalidRequest

if TYPE_CHECKING:
    from llm_router.config.deployment import Deployment
    from llm_router.routing.router import Router


def _targets(router: Router, name: str) -> list[Deployment] | None:
    """The configured deployments ``name`` stands for; None for an ad-hoc name."""
    deployments = router.factory.deployments
    route = router.config.routes.get(name)
    if route is not None:
        return [deployments[n] for n in route.deployments if n in deployments]
    deployment = deployments.get(name) or deployments.get(name.partition("/")[0])
    return [deployment] if deployment is not None else None


def check_chat(router: Router, name: str) -> None:
    """400 when ``name`` stands only for embedding deployments."""
    targets = _targets(router, name)
    if targets and all(d.options.embedding for d in targets):
        raise InvalidRequest(f"Model '{name}' is an embedding model (embedding: true): send it to "
                             "/v1/embeddings, not to a chat endpoint.", "model")


def embedding_models(router: Router) -> list[str]:
    """The declared embedding deployments and the routes made of them."""
    deployments = router.factory.deployments
    names = [n for n, d in deployments.items() if d.options.embedding]
    routes = router.config.routes.items()
    return names + [n for n, r in routes if r.deployments and all(
        deployments[d].options.embedding for d in r.deployments if d in deployments)]


def check_embed(router: Router, name: str) -> None:
    """400 when embedding deployments are declared and ``name`` is a route or deployment that
    is not one (a ``provider/model`` name is left to the upstream)."""
    declared = embedding_models(router)
    if not declared or name in declared:
        return
    deployments = router.factory.deployments
    if name in router.config.routes or name in deployments:
        raise InvalidRequest(f"Model '{name}' is not an embedding model; the embedding models here are: "
                             f"{', '.join(declared)}.", "model")
