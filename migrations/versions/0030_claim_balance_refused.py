"""funding_claims: a claim whose balance the funder refused after paying part of it ('balance_refused'); a sent
claim asks the funder for its subrogation lines only

A claim partly paid and then rejected was marked 'rejected': the money received no longer counted for its
trainees (annual report) and the sessions could be claimed again in full. Such a claim is now "payée en
partie, solde refusé": what was paid stays paid and the sessions are not billed to that funder again. A
rejected claim that had received money becomes one, unless another claim to the same funder (not rejected)
has since taken one of its sessions (left as it is: the office settles it with the funder), or a newer
rejected claim that received money shares one of its sessions (a session claimed again after a rejection, as
was allowed: only the newest becomes 'balance_refused', so that one claim at most per funder and session is not
rejected; the annual report still counts the money the older ones received).

A claim sent with lines in reimbursement of the employer asked the funder for them too (total_cents was the
total of every line); the funder is now asked for the subrogation lines only (claim_calculation.due_cents, the
function the service uses: pure, no database). Every claim sent (not a draft) with reimbursement lines takes
that total; one partly paid (or whose balance was refused) that received at least it becomes 'paid'; its
payments' overpayment is worked out again against it, as record_payment does. The dossier stored when it was sent
(invoice and workbook included) is kept as it is, byte for byte: it is what the funder received.
Back: the total of every line again, and 'paid' below it becomes 'partially_paid'.

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-24 12:00:00
"""
from alembic import op
import sqlalchemy as sa

from training_app.services.claim_calculation import due_cents, is_reimbursement


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

OLD = "status IN ('draft', 'sent', 'partially_paid', 'paid', 'rejected')"
NEW = "status IN ('draft', 'sent', 'partially_paid', 'paid', 'rejected', 'balance_refused')"
# Read before any row changes within the statement (statuses 'rejected' and 'balance_refused' alike), so that
# PostgreSQL and SQLite decide the same whatever order they update the rows in.
BALANCE_REFUSED = sa.text(
    "UPDATE funding_claims SET status = 'balance_refused'"
    " WHERE status = 'rejected' AND paid_cents > 0 AND NOT EXISTS ("
    "  SELECT 1 FROM funding_claims other"
    "  JOIN funding_claim_sessions os ON os.claim_id = other.id"
    "  JOIN funding_claim_sessions cs ON cs.session_id = os.session_id AND cs.claim_id = funding_claims.id"
    "  WHERE other.id != funding_claims.id AND other.funder_id = funding_claims.funder_id"
    "  AND (other.status NOT IN ('rejected', 'balance_refused')"
    "       OR (other.paid_cents > 0 AND other.id > funding_claims.id)))")

claims = sa.table('funding_claims', sa.column('id', sa.Integer), sa.column('status', sa.String),
                  sa.column('total_cents', sa.Integer), sa.column('paid_cents', sa.Integer),
                  sa.column('snapshot', sa.JSON))
payments = sa.table('funding_claim_payments', sa.column('id', sa.Integer), sa.column('claim_id', sa.Integer),
                    sa.column('amount_cents', sa.Integer), sa.column('overpayment_cents', sa.Integer))


def upgrade():
    with op.batch_alter_table('funding_claims', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_funding_claims_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_funding_claims_status'), NEW)
    op.execute(BALANCE_REFUSED)
    _set_totals(due_cents, paid_from=('partially_paid', 'balance_refused'))


def downgrade():
    op.execute("UPDATE funding_claims SET status = 'rejected' WHERE status = 'balance_refused'")
    _set_totals(lambda lines: sum(line["total_cents"] for line in lines), paid_from=())
    with op.batch_alter_table('funding_claims', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_funding_claims_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_funding_claims_status'), OLD)


def _set_totals(total_of, paid_from: tuple[str, ...]) -> None:
    """Each claim sent with reimbursement lines takes total_of(its lines): 'paid' once it received that much (from
    the statuses `paid_from`), 'partially_paid' when paid below it; its payments' overpayment worked out again."""
    conn = op.get_bind()
    for claim_id, status, total, paid, snapshot in conn.execute(
            sa.select(claims.c.id, claims.c.status, claims.c.total_cents, claims.c.paid_cents, claims.c.snapshot)
            .where(claims.c.status != 'draft').order_by(claims.c.id)).all():
        lines = (snapshot or {}).get("lines", [])
        if not any(is_reimbursement(line) for line in lines):
            continue
        total = total_of(lines)
        if status in paid_from and paid >= total:
            status = 'paid'
        elif status == 'paid' and paid < total:
            status = 'partially_paid'
        conn.execute(claims.update().where(claims.c.id == claim_id).values(total_cents=total, status=status))
        received = 0
        for payment_id, amount in conn.execute(
                sa.select(payments.c.id, payments.c.amount_cents).where(payments.c.claim_id == claim_id)
                .order_by(payments.c.id)).all():
            conn.execute(payments.update().where(payments.c.id == payment_id).values(
                overpayment_cents=max(0, amount - max(0, total - received))))
            received += amount
