"""funding_claim_payments: a payment typed by mistake is cancelled, with its reason, and kept

A payment recorded on the wrong claim or for a wrong amount could not be corrected. It is now cancelled by an
administrator (services/funding.cancel_payment): `cancelled_at` (UTC) and `cancel_reason` (required, a check
constraint says so) mark it, it stays in the claim's list and no longer counts in the money received. Existing
payments are not cancelled (NULL, '').

Revision ID: 0038
Revises: 0037
Create Date: 2026-11-27 08:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('funding_claim_payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.create_check_constraint(batch_op.f('ck_funding_claim_payments_cancelled_with_reason'),
                                         "cancelled_at IS NULL OR cancel_reason != ''")


def downgrade():
    # a cancelled payment did not count: back to a schema without cancellation, it goes (its audit entry stays)
    op.execute("DELETE FROM funding_claim_payments WHERE cancelled_at IS NOT NULL")
    with op.batch_alter_table('funding_claim_payments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_funding_claim_payments_cancelled_with_reason'), type_='check')
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_at')
