"""funding claims: the invoice number is given when the claim is sent, not when the draft is created

Invoices are numbered continuously and in the order of their dates (the sending date). A number taken by the draft
came before its date: drafts sent in another order than made their numbers out of date order, a draft never sent
left a gap, a draft of December sent in January kept the year before's number. A draft now has no number
(funding_claims.number becomes nullable); services/funding.send gives the next one of the sending date's year.

Drafts numbered before this revision: a draft whose number comes after every claim sent of its year (the last
ones taken) loses it; the next sending takes it again, no gap is left. A draft whose number lies below a claim
sent of the same year keeps it: the invoices sent already skip it, dropped it would be a gap for good; sent, it
fills it (its date then out of order, as the numbering before this revision made it). A check constraint says a
claim sent has a number.

Downgrade: the schema before wants a number on every claim; a draft without one takes "brouillon-<id>" (no
invoice number of a year: it takes none from the sequence; the next upgrade takes it off again).

Revision ID: 0036
Revises: 0035
Create Date: 2026-11-25 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None

claims = sa.table('funding_claims', sa.column('id', sa.Integer), sa.column('number', sa.String),
                  sa.column('status', sa.String))


def _last_of_their_year() -> sa.ColumnElement:
    """The drafts whose number comes after the numbers of every claim sent of its year ("2019-0007" after
    "2019-0006"; the year is the number's first five characters)."""
    sent = claims.alias('sent')
    after = sa.or_(sa.func.length(sent.c.number) > sa.func.length(claims.c.number),
                   sa.and_(sa.func.length(sent.c.number) == sa.func.length(claims.c.number),
                           sent.c.number > claims.c.number))
    return sa.and_(claims.c.status == 'draft', claims.c.number.is_not(None), ~sa.exists(
        sa.select(sent.c.id).where(sent.c.status != 'draft',
                                   sa.func.substr(sent.c.number, 1, 5) == sa.func.substr(claims.c.number, 1, 5),
                                   after)))


def upgrade():
    with op.batch_alter_table('funding_claims', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.String(length=30), nullable=True)
        batch_op.create_check_constraint(batch_op.f('ck_funding_claims_numbered_once_sent'),
                                         "status = 'draft' OR number IS NOT NULL")
    op.get_bind().execute(claims.update().where(_last_of_their_year()).values(number=None))


def downgrade():
    op.get_bind().execute(claims.update().where(claims.c.number.is_(None))
                          .values(number=sa.literal('brouillon-') + sa.cast(claims.c.id, sa.String)))
    with op.batch_alter_table('funding_claims', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_funding_claims_numbered_once_sent'), type_='check')
        batch_op.alter_column('number', existing_type=sa.String(length=30), nullable=False)
