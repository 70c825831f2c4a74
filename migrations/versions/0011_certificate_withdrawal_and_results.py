"""issued certificates: withdrawal (no attendance left after a correction) and the results an attestation states

A certificate whose trainee attended nothing once the sheets were corrected is withdrawn (no
longer current, replaced by nothing, with the reason); an attestation keeps the results per
objective it prints, so that a later change of an outcome flags it for reissue.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issued_certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_reason', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('results', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('issued_certificates', schema=None) as batch_op:
        batch_op.drop_column('results')
        batch_op.drop_column('withdrawn_reason')
