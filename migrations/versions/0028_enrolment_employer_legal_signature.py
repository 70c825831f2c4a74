"""enrolments: the employer of the course; organisation: the legal representative's signature image

Certificates named the trainee's employer as their record says now: a re-issue after the trainee changed
employer named the new one, while the funding claim named the agreement's. The enrolment keeps the employer the
trainee followed the course for (enrolments.employer_id). Existing enrolments take the employer of the funding
agreement covering them (not refused) when it names one, else the trainee's employer as recorded now (the only
one known).

The certificat de réalisation is signed by the legal representative, the attestation by its signatory: when they
are two people, the certificat carries organisation.legal_representative_signature_image (empty: none yet).

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-24 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

BACKFILL = sa.text(
    "UPDATE enrolments SET employer_id = COALESCE("
    " (SELECT a.employer_id FROM funding_agreements a"
    "  JOIN funding_agreement_trainees t ON t.agreement_id = a.id"
    "  WHERE t.enrolment_id = enrolments.id AND a.status != 'refused' AND a.employer_id IS NOT NULL"
    "  ORDER BY a.id DESC LIMIT 1),"
    " (SELECT tr.employer_id FROM trainees tr WHERE tr.id = enrolments.trainee_id))")


def upgrade():
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('employer_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_enrolments_employer_id'), ['employer_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_enrolments_employer_id_employers'), 'employers',
                                    ['employer_id'], ['id'], ondelete='SET NULL')
    op.execute(BACKFILL)
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_representative_signature_image', sa.String(length=300), nullable=False,
                                      server_default=''))


def downgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('legal_representative_signature_image')
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_enrolments_employer_id_employers'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_enrolments_employer_id'))
        batch_op.drop_column('employer_id')
