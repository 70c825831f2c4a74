"""anonymous answers wait in survey_pending_answers until the questionnaire closes

On PostgreSQL a response written in the same transaction as the participation shares its xmin:
anonymous answers are now kept apart (no trainee, no timestamp, random id) and released as
responses, shuffled, by one transaction once the questionnaire is closed.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 21:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'survey_pending_answers',
        sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('survey_id', sa.Integer(), nullable=False),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'],
                                name=op.f('fk_survey_pending_answers_survey_id_surveys'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_pending_answers')),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table('survey_pending_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_pending_answers_survey_id'), ['survey_id'], unique=False)


def downgrade():
    with op.batch_alter_table('survey_pending_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_pending_answers_survey_id'))
    op.drop_table('survey_pending_answers')
