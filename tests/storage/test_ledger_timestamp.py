"""The SQLite ledger insert's timestamp text is exactly what UtcDateTime and SQLAlchemy's
SQLite DATETIME make of the same value (whole seconds, other zones, far dates), and a naive
datetime is refused as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from llm_router.storage.ledger import sqlite_utc_text
from llm_router.storage.models import UsageRow


def _reference():
    dialect = sqlite.dialect()
    column = UsageRow.__table__.c.created_at
    return column.type.dialect_impl(dialect).bind_processor(dialect)


@pytest.mark.parametrize("value", [
    datetime(2026, 12, 1, 16, 27, 51, 461800, tzinfo=UTC),
    datetime(2026, 12, 1, 16, 27, 51, tzinfo=UTC),  # no microseconds: still six digits
    datetime(2026, 12, 31, 23, 30, 0, 5, tzinfo=timezone(timedelta(hours=-5))),  # next year in UTC
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime.fromtimestamp(1796139203.5852816, UTC),
])
def test_same_text_as_the_sqlalchemy_chain(value: datetime) -> None:
    assert sqlite_utc_text(value) == _reference()(value)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError):
        sqlite_utc_text(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        _reference()(datetime(2026, 1, 1))
