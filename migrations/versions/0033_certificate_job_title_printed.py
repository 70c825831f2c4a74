"""issued_certificates: the job title an attestation prints, and what each document's template printed

Correcting a trainee's job title did not flag the attestation that printed the former one: it was not kept. It
is now, on the documents whose template prints it; documents issued before are left NULL: not known, so not
compared.

A document was compared on what the shipped template of its kind prints, whatever the template it came from: an
uploaded template printing more (the SIRET of the employer on a certificat de réalisation) was not flagged when
that changed, one printing less was flagged for what it does not say. Each document now keeps the list of the
compared fields its template printed; documents issued before are left NULL: compared as the shipped templates.

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-24 04:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issued_certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trainee_job_title', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('printed', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('issued_certificates', schema=None) as batch_op:
        batch_op.drop_column('printed')
        batch_op.drop_column('trainee_job_title')
