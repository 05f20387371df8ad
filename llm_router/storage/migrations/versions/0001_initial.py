"""Initial schema: teams, virtual keys (hashes only), the usage ledger, the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.String(length=40), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_audit_created_at'), 'audit', ['created_at'], unique=False)
    op.create_index(op.f('ix_audit_target_id'), 'audit', ['target_id'], unique=False)
    op.create_table('teams',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('models', sa.JSON(), nullable=True),
    sa.Column('budget_max_micros', sa.BigInteger(), nullable=True),
    sa.Column('budget_period', sa.String(length=8), nullable=True),
    sa.Column('rpm', sa.Integer(), nullable=True),
    sa.Column('tpm', sa.Integer(), nullable=True),
    sa.Column('max_parallel', sa.Integer(), nullable=True),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('usage',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=40), nullable=True),
    sa.Column('team_id', sa.String(length=40), nullable=True),
    sa.Column('surface', sa.String(length=40), nullable=False),
    sa.Column('route', sa.String(length=200), nullable=True),
    sa.Column('deployment', sa.String(length=200), nullable=True),
    sa.Column('provider', sa.String(length=64), nullable=True),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('error_type', sa.String(length=64), nullable=True),
    sa.Column('input_tokens', sa.Integer(), nullable=False),
    sa.Column('output_tokens', sa.Integer(), nullable=False),
    sa.Column('cached_tokens', sa.Integer(), nullable=False),
    sa.Column('cost_micros', sa.BigInteger(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('ttft_ms', sa.Integer(), nullable=True),
    sa.Column('streamed', sa.Boolean(), nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.Column('possibly_billed_attempts', sa.Integer(), nullable=False),
    sa.Column('usage_estimated', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_usage_created_at'), 'usage', ['created_at'], unique=False)
    op.create_index('ix_usage_key_created', 'usage', ['key_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_usage_request_id'), 'usage', ['request_id'], unique=False)
    op.create_index('ix_usage_team_created', 'usage', ['team_id', 'created_at'], unique=False)
    op.create_table('api_keys',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('display', sa.String(length=20), nullable=False),
    sa.Column('team_id', sa.String(length=40), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('models', sa.JSON(), nullable=True),
    sa.Column('budget_max_micros', sa.BigInteger(), nullable=True),
    sa.Column('budget_period', sa.String(length=8), nullable=True),
    sa.Column('rpm', sa.Integer(), nullable=True),
    sa.Column('tpm', sa.Integer(), nullable=True),
    sa.Column('max_parallel', sa.Integer(), nullable=True),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    op.create_index(op.f('ix_api_keys_team_id'), 'api_keys', ['team_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_api_keys_team_id'), table_name='api_keys')
    op.drop_table('api_keys')
    op.drop_index('ix_usage_team_created', table_name='usage')
    op.drop_index(op.f('ix_usage_request_id'), table_name='usage')
    op.drop_index('ix_usage_key_created', table_name='usage')
    op.drop_index(op.f('ix_usage_created_at'), table_name='usage')
    op.drop_table('usage')
    op.drop_table('teams')
    op.drop_index(op.f('ix_audit_target_id'), table_name='audit')
    op.drop_index(op.f('ix_audit_created_at'), table_name='audit')
    op.drop_table('audit')
