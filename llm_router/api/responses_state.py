"""The Responses surface's state, when the gateway has a database (the admin plane's):
``previous_response_id`` chains to a response this gateway made, and
``GET /v1/responses/{id}`` returns it.

What is kept: responses the gateway itself encoded (a translated answer) whose request did not
say ``store: false``, with the conversation that led to them as Responses items (``input``
then ``output``; ``instructions`` are not inherited, as at OpenAI). Only the key that made a
response can read or chain to it. An OpenAI deployment's own answers (pass-through) are not
kept here: OpenAI keeps them (its ids chain there when every deployment of the route is OpenAI).
Without a database nothing is kept, and ``previous_response_id`` is a 400 naming it.
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from llm_router.api.auth import api_principal
from llm_router.errors import InvalidRequest, NotFound
from llm_router.policies.base import Principal
from llm_router.storage.responses import StoredResponse

router = APIRouter(prefix="/v1")


class Store(Protocol):
    """Where responses are kept (``llm_router.storage.response_store.ResponseStore``)."""

    async def get(self, response_id: str) -> StoredResponse | None: ...

    async def put(self, stored: StoredResponse) -> None: ...


def input_items(value: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A request's ``input`` as a list of items."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    return list(value)


async def history(store: Store | None, response_id: str, key_id: str | None) -> list[dict[str, Any]] | None:
    """The conversation items of a stored response of this key, or None if there is none."""
    if store is None:
        return None
    stored = await store.get(response_id)
    if stored is None or stored.key_id != key_id:
        return None
    return stored.items


def not_found(response_id: str) -> InvalidRequest:
    """The 400 for a ``previous_response_id`` that chains to nothing here."""
    return InvalidRequest(f"Previous response with id '{response_id[:100]}' not found: it was not made "
                          "through this gateway with 'store' on (or the gateway keeps no responses: it has "
                          "no database); send the whole conversation in 'input'.",
                          "previous_response_id", code="previous_response_not_found")


@router.get("/responses/{response_id}")
async def get_response(response_id: str, request: Request,
                       principal: Annotated[Principal, Depends(api_principal)]) -> Response:
    """A response made through this gateway with ``store`` on, for the key that made it."""
    store: Store | None = getattr(request.app.state.gateway, "response_store", None)
    stored = await store.get(response_id) if store is not None else None
    if stored is None or stored.key_id != principal.key_id:
        raise NotFound(f"No response with id '{response_id[:100]}' is stored here.")
    return Response(orjson.dumps(stored.body), media_type="application/json")
