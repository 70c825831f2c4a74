"""edit versions: optimistic locking of the records office staff edit with a full form

A `version` counter (existing rows: 1) on programmes, sessions, trainees, employers, funders, funding
agreements, the organisation and staff accounts. Each saved edit form moves it by one; a form opened at an
older version is refused instead of silently undoing the changes made since (services/edit_versions.py).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-23 16:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

TABLES = ('programmes', 'training_sessions', 'trainees', 'employers', 'funders', 'funding_agreements',
          'organisation', 'users')


# Plain ALTER TABLE (SQLite 3.35+ drops a column itself): a batch "move and copy" of the table would lose the
# indexes it cannot reflect (employers' lower(name) index).


def upgrade():
    for table in TABLES:
        op.add_column(table, sa.Column('version', sa.Integer(), nullable=False, server_default=sa.text('1')))


def downgrade():
    for table in reversed(TABLES):
        op.drop_column(table, 'version')
