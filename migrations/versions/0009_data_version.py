"""benchmarks: the data version, changed by every commit that writes, for the kept pages

training_app/page_cache.py keeps rendered pages until the data changes; this one row tells
when it does (a new random token in every transaction that wrote something).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 20:30:00
"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    data_version = op.create_table(
        'data_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_version')),
    )
    op.bulk_insert(data_version, [{'id': 1, 'token': secrets.token_hex(16)}])


def downgrade():
    op.drop_table('data_version')
