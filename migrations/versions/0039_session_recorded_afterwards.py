"""training_sessions.recorded_afterwards: a session recorded once it had taken place, from its paper sheets

An office catching up on courses run on paper records a session already held (« Session déjà réalisée » on the
creation form): its dates may be past, the office enrols its trainees and enters each half-day's statuses from
the paper sheet, whose scan stands for the signatures; nobody signs it in the application. Existing sessions
were scheduled ahead (false).

Revision ID: 0039
Revises: 0038
Create Date: 2026-11-28 08:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recorded_afterwards', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_column('recorded_afterwards')
