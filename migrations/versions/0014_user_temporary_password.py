"""users: a temporary password must be changed at the next sign-in

An administrator sets a temporary password when creating an account or resetting its password; the
account's owner must then choose their own before using the application. Accounts created before keep
their password (false).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 05:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
