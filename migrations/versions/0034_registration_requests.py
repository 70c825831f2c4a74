"""registration_requests: a public registration holds no seat until its address is proven (double opt-in)

A request on the public registration page created the trainee and the enrolment at once: anyone could fill a
session (or its waiting list) with made-up addresses, and a person's record was written for an address nobody
had confirmed. The request is now a row of its own, with what was typed and the hash of a link e-mailed to the
address typed; opening the link and confirming enrols, as the page used to. Deleted once expired.

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-24 04:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('registration_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('funding_mode', sa.String(length=30), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('duplicate', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'],
                            name=op.f('fk_registration_requests_enrolment_id_enrolments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'],
                            name=op.f('fk_registration_requests_session_id_training_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_requests')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_registration_requests_token_hash'))
    )
    with op.batch_alter_table('registration_requests', schema=None) as batch_op:
        batch_op.create_index('ix_registration_requests_session_confirmed', ['session_id', 'confirmed_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_registration_requests_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_registration_requests_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registration_requests_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('registration_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_requests_expires_at'))
        batch_op.drop_index(batch_op.f('ix_registration_requests_enrolment_id'))
        batch_op.drop_index(batch_op.f('ix_registration_requests_email'))
        batch_op.drop_index('ix_registration_requests_session_confirmed')

    op.drop_table('registration_requests')
