"""Stored Responses API objects: what ``previous_response_id`` chains to and what
``GET /v1/responses/{id}`` returns, for responses the gateway itself made. The table they are
kept in is ``storage/response_store.py`` (SQLAlchemy, imported only with a database)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """One stored response: its owner (virtual key id, None for the gateway key or no key),
    the model name asked for, the conversation as Responses items, and the response object."""

    id: str
    key_id: str | None
    model: str
    items: list[Any]
    body: dict[str, Any]
