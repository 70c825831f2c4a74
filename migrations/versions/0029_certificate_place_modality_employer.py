"""issued_certificates: the place, modality and employer a document was issued with

A certificate was flagged outdated when the hours attended or the results it states changed, not when the
session's place or modality, or the employer of the course (enrolments.employer, a funding agreement's), changed
after issuing. Each document now keeps them; documents issued before are left NULL: not known, so not compared.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-24 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issued_certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('modality', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('employer_name', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('employer_siret', sa.String(length=14), nullable=True))


def downgrade():
    with op.batch_alter_table('issued_certificates', schema=None) as batch_op:
        batch_op.drop_column('employer_siret')
        batch_op.drop_column('employer_name')
        batch_op.drop_column('modality')
        batch_op.drop_column('place')
