"""Stored Responses API objects (``previous_response_id``, ``GET /v1/responses/{id}``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('responses',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=True),
    sa.Column('model', sa.String(length=256), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_responses_created_at'), 'responses', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_responses_created_at'), table_name='responses')
    op.drop_table('responses')
