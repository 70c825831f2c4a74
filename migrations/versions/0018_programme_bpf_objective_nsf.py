"""programmes: BPF objective (section F-3) and NSF speciality (section F-4)

The general objective of each programme among the seven of the Cerfa 10443 (letters a to g; programmes
created before are 'e', autres formations professionnelles) and its speciality in the nomenclature des
spécialités de formation (code and label; none yet for programmes created before).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23 12:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bpf_objective', sa.String(length=1), nullable=False, server_default='e'))
        batch_op.add_column(sa.Column('nsf_code', sa.String(length=4), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('nsf_label', sa.String(length=200), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.drop_column('nsf_label')
        batch_op.drop_column('nsf_code')
        batch_op.drop_column('bpf_objective')
