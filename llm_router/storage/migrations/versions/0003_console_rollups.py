"""The console's rollups (hourly ledger totals per dimension, folded in by row id) and
indexes for the request log filtered by key, team or model, newest first.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TOTALS = ("requests", "errors", "input_tokens", "output_tokens", "cached_tokens", "cost_micros", "unpriced")


def upgrade() -> None:
    op.create_table(
        "usage_rollup",
        sa.Column("dim", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _TOTALS),
        sa.PrimaryKeyConstraint("dim", "bucket", "value"),
    )
    state = op.create_table(
        "usage_rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rolled_upto", sa.BigInteger(), nullable=False),
        sa.Column("candidate", sa.BigInteger(), nullable=False),
        sa.Column("candidate_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(state, [{"id": 1, "rolled_upto": 0, "candidate": 0, "candidate_at": None}])
    op.create_index("ix_usage_key_id_id", "usage", ["key_id", "id"], unique=False)
    op.create_index("ix_usage_team_id_id", "usage", ["team_id", "id"], unique=False)
    op.create_index("ix_usage_model_id", "usage", ["model", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_usage_model_id", table_name="usage")
    op.drop_index("ix_usage_team_id_id", table_name="usage")
    op.drop_index("ix_usage_key_id_id", table_name="usage")
    op.drop_table("usage_rollup_state")
    op.drop_table("usage_rollup")
