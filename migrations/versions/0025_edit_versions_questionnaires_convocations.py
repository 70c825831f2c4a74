"""edit versions of questionnaires, their questions and convocation texts

The office edits a questionnaire, each of its questions and a session's convocation texts in place: each gets
an edit version (existing rows: 1), moved by one at each saved form, so that a form opened before someone
else's save is refused instead of silently undoing it (services/edit_versions.py). Questionnaires already have
a `version` (the version trainees answered): theirs is `edit_version`.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

COLUMNS = (('questionnaires', 'edit_version'), ('questionnaire_questions', 'version'),
           ('convocation_texts', 'version'))


def upgrade():
    for table, column in COLUMNS:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=False, server_default=sa.text('1')))


def downgrade():
    for table, column in reversed(COLUMNS):
        op.drop_column(table, column)
