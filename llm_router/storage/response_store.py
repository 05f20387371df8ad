"""The ``responses`` table: where :class:`~llm_router.storage.responses.StoredResponse` objects
are kept when the gateway has a database (the admin plane's)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from llm_router.storage.models import ResponseRow
from llm_router.storage.responses import StoredResponse


class ResponseStore:
    """Responses in the ``responses`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def get(self, response_id: str) -> StoredResponse | None:
        """The stored response, or None."""
        async with self.sessions() as session:
            row = await session.get(ResponseRow, response_id)
        if row is None:
            return None
        return StoredResponse(row.id, row.key_id, row.model, list(row.items), dict(row.body))

    async def put(self, stored: StoredResponse) -> None:
        """Keep a response (ids are unique: a second put of one id is an error)."""
        async with self.sessions() as session, session.begin():
            session.add(ResponseRow(id=stored.id, key_id=stored.key_id, model=stored.model,
                                    items=stored.items, body=stored.body))
