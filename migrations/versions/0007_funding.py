"""funding: funders' hourly caps, funding agreements (with covered trainees and annex costs), claims and payments

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 17:34:57.349014

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('funder_hourly_caps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('funder_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('cap_cents', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.CheckConstraint('cap_cents >= 0', name=op.f('ck_funder_hourly_caps_cap_positive')),
    sa.CheckConstraint('year BETWEEN 2000 AND 2100', name=op.f('ck_funder_hourly_caps_year_range')),
    sa.ForeignKeyConstraint(['funder_id'], ['funders.id'], name=op.f('fk_funder_hourly_caps_funder_id_funders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funder_hourly_caps')),
    sa.UniqueConstraint('funder_id', 'year', name=op.f('uq_funder_hourly_caps_funder_id_year'))
    )
    with op.batch_alter_table('funder_hourly_caps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funder_hourly_caps_funder_id'), ['funder_id'], unique=False)

    op.create_table('funding_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('funder_id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('total_cents', sa.Integer(), nullable=False),
    sa.Column('paid_cents', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('calculated_at', sa.DateTime(), nullable=True),
    sa.Column('sent_on', sa.Date(), nullable=True),
    sa.Column('rejected_on', sa.Date(), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'sent', 'partially_paid', 'paid', 'rejected')", name=op.f('ck_funding_claims_status')),
    sa.CheckConstraint('paid_cents >= 0', name=op.f('ck_funding_claims_paid_positive')),
    sa.CheckConstraint('total_cents >= 0', name=op.f('ck_funding_claims_total_positive')),
    sa.ForeignKeyConstraint(['funder_id'], ['funders.id'], name=op.f('fk_funding_claims_funder_id_funders'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_claims')),
    sa.UniqueConstraint('number', name=op.f('uq_funding_claims_number'))
    )
    with op.batch_alter_table('funding_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_claims_funder_id'), ['funder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_funding_claims_status'), ['status'], unique=False)

    op.create_table('funding_claim_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('overpayment_cents', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name=op.f('ck_funding_claim_payments_amount_positive')),
    sa.ForeignKeyConstraint(['claim_id'], ['funding_claims.id'], name=op.f('fk_funding_claim_payments_claim_id_funding_claims'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_claim_payments'))
    )
    with op.batch_alter_table('funding_claim_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_claim_payments_claim_id'), ['claim_id'], unique=False)

    op.create_table('funding_agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('funder_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('employer_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('file_number', sa.String(length=60), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('hourly_rate_cents', sa.Integer(), nullable=True),
    sa.Column('amount_cents', sa.Integer(), nullable=True),
    sa.Column('hourly_cap_cents', sa.Integer(), nullable=True),
    sa.Column('refusal_reason', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("mode IN ('subrogation', 'reimbursement')", name=op.f('ck_funding_agreements_mode')),
    sa.CheckConstraint("status IN ('requested', 'granted', 'refused')", name=op.f('ck_funding_agreements_status')),
    sa.CheckConstraint('amount_cents IS NULL OR amount_cents >= 0', name=op.f('ck_funding_agreements_amount_positive')),
    sa.CheckConstraint('hourly_cap_cents IS NULL OR hourly_cap_cents >= 0', name=op.f('ck_funding_agreements_cap_positive')),
    sa.CheckConstraint('hourly_rate_cents IS NULL OR hourly_rate_cents >= 0', name=op.f('ck_funding_agreements_rate_positive')),
    sa.ForeignKeyConstraint(['employer_id'], ['employers.id'], name=op.f('fk_funding_agreements_employer_id_employers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['funder_id'], ['funders.id'], name=op.f('fk_funding_agreements_funder_id_funders'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_funding_agreements_session_id_training_sessions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_agreements'))
    )
    with op.batch_alter_table('funding_agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_agreements_employer_id'), ['employer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_funding_agreements_funder_id'), ['funder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_funding_agreements_session_id'), ['session_id'], unique=False)
        batch_op.create_index('uq_funding_agreements_file_number', ['funder_id', 'file_number'], unique=True, sqlite_where=sa.text("file_number != ''"), postgresql_where=sa.text("file_number != ''"))

    op.create_table('funding_claim_sessions',
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['funding_claims.id'], name=op.f('fk_funding_claim_sessions_claim_id_funding_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_funding_claim_sessions_session_id_training_sessions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('claim_id', 'session_id', name=op.f('pk_funding_claim_sessions'))
    )
    with op.batch_alter_table('funding_claim_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_claim_sessions_session_id'), ['session_id'], unique=False)

    op.create_table('funding_agreement_trainees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('travel_agreed_cents', sa.Integer(), nullable=False),
    sa.Column('travel_actual_cents', sa.Integer(), nullable=False),
    sa.Column('accommodation_agreed_cents', sa.Integer(), nullable=False),
    sa.Column('accommodation_actual_cents', sa.Integer(), nullable=False),
    sa.Column('meals_agreed_cents', sa.Integer(), nullable=False),
    sa.Column('meals_actual_cents', sa.Integer(), nullable=False),
    sa.CheckConstraint('accommodation_actual_cents >= 0', name=op.f('ck_funding_agreement_trainees_accommodation_actual_positive')),
    sa.CheckConstraint('accommodation_agreed_cents >= 0', name=op.f('ck_funding_agreement_trainees_accommodation_agreed_positive')),
    sa.CheckConstraint('meals_actual_cents >= 0', name=op.f('ck_funding_agreement_trainees_meals_actual_positive')),
    sa.CheckConstraint('meals_agreed_cents >= 0', name=op.f('ck_funding_agreement_trainees_meals_agreed_positive')),
    sa.CheckConstraint('travel_actual_cents >= 0', name=op.f('ck_funding_agreement_trainees_travel_actual_positive')),
    sa.CheckConstraint('travel_agreed_cents >= 0', name=op.f('ck_funding_agreement_trainees_travel_agreed_positive')),
    sa.ForeignKeyConstraint(['agreement_id'], ['funding_agreements.id'], name=op.f('fk_funding_agreement_trainees_agreement_id_funding_agreements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_funding_agreement_trainees_enrolment_id_enrolments'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_agreement_trainees')),
    sa.UniqueConstraint('agreement_id', 'enrolment_id', name=op.f('uq_funding_agreement_trainees_agreement_id_enrolment_id'))
    )
    with op.batch_alter_table('funding_agreement_trainees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_agreement_trainees_agreement_id'), ['agreement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_funding_agreement_trainees_enrolment_id'), ['enrolment_id'], unique=False)



def downgrade():
    with op.batch_alter_table('funding_agreement_trainees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funding_agreement_trainees_enrolment_id'))
        batch_op.drop_index(batch_op.f('ix_funding_agreement_trainees_agreement_id'))

    op.drop_table('funding_agreement_trainees')
    with op.batch_alter_table('funding_claim_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funding_claim_sessions_session_id'))

    op.drop_table('funding_claim_sessions')
    with op.batch_alter_table('funding_agreements', schema=None) as batch_op:
        batch_op.drop_index('uq_funding_agreements_file_number', sqlite_where=sa.text("file_number != ''"), postgresql_where=sa.text("file_number != ''"))
        batch_op.drop_index(batch_op.f('ix_funding_agreements_session_id'))
        batch_op.drop_index(batch_op.f('ix_funding_agreements_funder_id'))
        batch_op.drop_index(batch_op.f('ix_funding_agreements_employer_id'))

    op.drop_table('funding_agreements')
    with op.batch_alter_table('funding_claim_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funding_claim_payments_claim_id'))

    op.drop_table('funding_claim_payments')
    with op.batch_alter_table('funding_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funding_claims_status'))
        batch_op.drop_index(batch_op.f('ix_funding_claims_funder_id'))

    op.drop_table('funding_claims')
    with op.batch_alter_table('funder_hourly_caps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funder_hourly_caps_funder_id'))

    op.drop_table('funder_hourly_caps')
