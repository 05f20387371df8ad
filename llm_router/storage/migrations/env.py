"""Alembic environment: runs on the connection handed over by ``storage.engine.upgrade``."""

from __future__ import annotations

from alembic import context

from llm_router.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `llm-router db upgrade` (storage.engine.upgrade)")
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
