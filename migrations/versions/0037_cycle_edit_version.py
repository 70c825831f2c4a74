"""cycles: an edit version (optimistic locking), now that administrators edit cycles with a form

A `version` counter on cycles (existing rows: 1), as on programmes (0019): a cycle's edit form opened at an older
version is refused instead of silently undoing the changes made since (services/edit_versions.py).

Revision ID: 0037
Revises: 0036
Create Date: 2026-11-26 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('cycles', sa.Column('version', sa.Integer(), nullable=False, server_default=sa.text('1')))


def downgrade():
    op.drop_column('cycles', 'version')
