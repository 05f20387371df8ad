"""Persistent state of the admin plane: virtual keys, teams, the usage ledger, the audit log.

SQLAlchemy 2 (async) over SQLite (aiosqlite, the default) or PostgreSQL (asyncpg); the schema
is managed by the Alembic migrations shipped in ``llm_router/storage/migrations``.
"""
