"""Keys, teams and their audit rows, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from llm_router.storage.keysecrets import KeyHasher, display_key, generate_key
from llm_router.storage.ledger import Ledger
from llm_router.storage.records import Budget, Limits, Rules
from llm_router.storage.repository import Actor, Conflict, Repository

ADMIN = Actor("admin")
HASHER = KeyHasher(b"p" * 32)


async def _key(repo: Repository, team_id: str | None = None, **rules):
    secret = generate_key()
    record = await repo.create_key(ADMIN, name="alice", key_hash=HASHER.hash(secret), display=display_key(secret),
                                   team_id=team_id, rules=Rules(**rules), metadata={"env": "dev"},
                                   expires_at=None)
    return secret, record


async def test_team_and_key_round_trip(engine: AsyncEngine):
    repo = Repository(engine)
    team = await repo.create_team(ADMIN, "research", Rules(models=("smart", "openai/*"),
                                  budget=Budget(50_000_000, "month"), limits=Limits(rpm=60)), {})
    secret, key = await _key(repo, team.id, limits=Limits(tpm=1000, max_parallel=2))
    found = await repo.key_by_hash(HASHER.hash(secret))
    assert found == key
    assert found.team_id == team.id and found.rules.limits == Limits(tpm=1000, max_parallel=2)
    assert (await repo.get_team(team.id)).rules.budget == Budget(50_000_000, "month")
    assert found.display == f"sk-lr-...{secret[-4:]}"
    assert found.created_at.tzinfo is not None
    assert [k.id for k in await repo.list_keys(team_id=team.id)] == [key.id]


async def test_lookup_of_unknown_or_injection_hash_finds_nothing(engine: AsyncEngine):
    repo = Repository(engine)
    await _key(repo)
    assert await repo.key_by_hash("' OR '1'='1") is None
    assert await repo.key_by_hash(HASHER.hash(generate_key())) is None


async def test_update_writes_before_and_after_of_changed_fields(engine: AsyncEngine):
    repo = Repository(engine)
    _, key = await _key(repo)
    updated = await repo.update_key(ADMIN, key.id, {"rpm": 10, "name": "alice"})
    assert updated.rules.limits.rpm == 10
    rows = await Ledger(engine).audit(target_id=key.id)
    assert [r.action for r in rows] == ["key.update", "key.create"]
    assert rows[0].before == {"rpm": None} and rows[0].after == {"rpm": 10}
    assert rows[0].actor == "admin"


async def test_revoked_key_is_kept_but_not_updatable(engine: AsyncEngine):
    repo = Repository(engine)
    _, key = await _key(repo)
    revoked = await repo.revoke_key(ADMIN, key.id)
    assert revoked.revoked_at is not None
    assert await repo.revoke_key(ADMIN, key.id) is None
    assert await repo.update_key(ADMIN, key.id, {"rpm": 1}) is None
    assert await repo.list_keys() == []
    assert len(await repo.list_keys(include_revoked=True)) == 1


async def test_team_names_are_unique_and_teams_in_use_are_not_deleted(engine: AsyncEngine):
    repo = Repository(engine)
    team = await repo.create_team(ADMIN, "ops", Rules(), {})
    with pytest.raises(Conflict):
        await repo.create_team(ADMIN, "ops", Rules(), {})
    _, key = await _key(repo, team.id)
    with pytest.raises(Conflict):
        await repo.delete_team(ADMIN, team.id)
    await repo.revoke_key(ADMIN, key.id)
    assert (await repo.delete_team(ADMIN, team.id)).id == team.id
    assert await repo.get_team(team.id) is None


async def test_expiry_is_stored_in_utc(engine: AsyncEngine):
    repo = Repository(engine)
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(microseconds=6)
    _, key = await _key(repo)
    await repo.update_key(ADMIN, key.id, {"expires_at": when})
    assert (await repo.get_key(key.id)).expires_at == when


async def test_no_table_holds_the_secret(engine: AsyncEngine):
    repo = Repository(engine)
    secret, key = await _key(repo)
    await repo.update_key(ADMIN, key.id, {"tpm": 5})
    await repo.revoke_key(ADMIN, key.id)
    dump = []
    async with engine.connect() as conn:
        for table in ("api_keys", "audit", "teams", "usage"):
            dump += [str(tuple(r)) for r in (await conn.execute(text(f"SELECT * FROM {table}"))).all()]
    text_dump = "\n".join(dump)
    assert secret not in text_dump and secret[6:] not in text_dump
    assert key.id in text_dump
