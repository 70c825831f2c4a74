"""issued_certificates: the nature of the action a document states, and the trainee's civility

The nature (action de formation, bilan de compétences, VAE) comes from the programme's BPF objective, read live:
reclassifying the programme changed what a past session's new documents printed, and nothing flagged the
documents already issued. Each document now keeps the nature it states; documents issued before are left NULL:
not known, so not compared.

A trainee's name or civility corrected after issuing did not flag their documents either: the name was kept
(trainee_name), the civility printed with it (formal name, « salarié·e ») was not. It is now.

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-24 03:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issued_certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nature', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('trainee_civility', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('issued_certificates', schema=None) as batch_op:
        batch_op.drop_column('trainee_civility')
        batch_op.drop_column('nature')
