"""funding_claims: a claim whose balance the funder refused after paying part of it ('balance_refused')

A claim partly paid and then rejected was marked 'rejected': the money received no longer counted for its
trainees (annual report) and the sessions could be claimed again in full. Such a claim is now "payée en
partie, solde refusé": what was paid stays paid and the sessions are not billed to that funder again. A
rejected claim that had received money becomes one, unless another claim to the same funder (not rejected)
has since taken one of its sessions (left as it is: the office settles it with the funder).

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-24 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

OLD = "status IN ('draft', 'sent', 'partially_paid', 'paid', 'rejected')"
NEW = "status IN ('draft', 'sent', 'partially_paid', 'paid', 'rejected', 'balance_refused')"
BALANCE_REFUSED = sa.text(
    "UPDATE funding_claims SET status = 'balance_refused'"
    " WHERE status = 'rejected' AND paid_cents > 0 AND NOT EXISTS ("
    "  SELECT 1 FROM funding_claims other"
    "  JOIN funding_claim_sessions os ON os.claim_id = other.id"
    "  JOIN funding_claim_sessions cs ON cs.session_id = os.session_id AND cs.claim_id = funding_claims.id"
    "  WHERE other.id != funding_claims.id AND other.funder_id = funding_claims.funder_id"
    "  AND other.status != 'rejected')")


def upgrade():
    with op.batch_alter_table('funding_claims', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_funding_claims_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_funding_claims_status'), NEW)
    op.execute(BALANCE_REFUSED)


def downgrade():
    op.execute("UPDATE funding_claims SET status = 'rejected' WHERE status = 'balance_refused'")
    with op.batch_alter_table('funding_claims', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_funding_claims_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_funding_claims_status'), OLD)
