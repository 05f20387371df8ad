"""The usage journal's tables: ``usage_attempts`` (one row per upstream attempt) and
``usage_dead_letters`` (rows the database refused). Before this revision they were created
on first use; a database that has them already keeps them as they are.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "usage_attempts" not in existing:
        op.create_table(
            "usage_attempts",
            sa.Column("request_id", sa.String(length=64), nullable=False),
            sa.Column("attempt", sa.Integer(), nullable=False),
            sa.Column("phase", sa.Integer(), nullable=False),
            sa.Column("replica", sa.String(length=128), nullable=True),
            sa.Column("key_id", sa.String(length=40), nullable=True),
            sa.Column("team_id", sa.String(length=40), nullable=True),
            sa.Column("surface", sa.String(length=40), nullable=True),
            sa.Column("route", sa.String(length=200), nullable=True),
            sa.Column("deployment", sa.String(length=200), nullable=True),
            sa.Column("provider", sa.String(length=64), nullable=True),
            sa.Column("model", sa.String(length=200), nullable=True),
            sa.Column("status", sa.String(length=32), nullable=False),
            sa.Column("http_status", sa.Integer(), nullable=True),
            sa.Column("error_type", sa.String(length=64), nullable=True),
            sa.Column("possibly_billed", sa.Boolean(), nullable=False),
            sa.Column("input_tokens", sa.Integer(), nullable=True),
            sa.Column("output_tokens", sa.Integer(), nullable=True),
            sa.Column("cached_tokens", sa.Integer(), nullable=True),
            sa.Column("cost_micros", sa.BigInteger(), nullable=True),
            sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("request_id", "attempt"),
        )
    if "usage_dead_letters" not in existing:
        op.create_table(
            "usage_dead_letters",
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True,
                      nullable=False),
            sa.Column("source", sa.String(length=16), nullable=False),
            sa.Column("request_id", sa.String(length=64), nullable=False),
            sa.Column("attempt", sa.Integer(), nullable=False),
            sa.Column("row", sa.JSON(), nullable=False),
            sa.Column("error", sa.Text(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )


def downgrade() -> None:
    """Drop the tables only while empty: before 0004 they were created on first use, so one
    holding rows stays (a downgrade with traffic must not lose shipped attempts)."""
    bind = op.get_bind()
    for table in ("usage_dead_letters", "usage_attempts"):
        if bind.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0:
            op.drop_table(table)
