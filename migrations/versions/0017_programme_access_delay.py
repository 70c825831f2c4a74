"""programmes: access delay (délais d'accès, Qualiopi indicator 1)

How long before a session one can still register and how soon after a request one can start, written by
the office and shown on the public programme page. Programmes created before have none yet ('').

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23 11:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('access_delay', sa.Text(), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.drop_column('access_delay')
