"""funding claims: the dossier (.zip) as sent to the funder

Stored once when the claim is sent (documents/storage), with its SHA-256, so that the dossier of a sent
claim stays the one the funder received. Claims sent before have none: theirs is stored at its first
download (services/funding.bundle_bytes).

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-23 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('funding_claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dossier_path', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('dossier_sha256', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('funding_claims', schema=None) as batch_op:
        batch_op.drop_column('dossier_sha256')
        batch_op.drop_column('dossier_path')
