"""training sessions: the course content they were taught under

When a catalogue entry's title, objectives or competencies are edited, every session of it that has
already started keeps, if it has not yet, the title, ordered objectives and competencies it was taught
under; its documents, outcomes and certificates read them. NULL: the session follows its programme.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('taught_title', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('taught_objectives', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('taught_competencies', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_column('taught_competencies')
        batch_op.drop_column('taught_objectives')
        batch_op.drop_column('taught_title')
