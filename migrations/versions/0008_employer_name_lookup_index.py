"""benchmarks: index for looking an employer up by its name in any case

Public registrations, the office's enrol form and list imports find an employer by
lower(name) (services/registrations.find_or_create_employer): without this index every
lookup reads the whole employers table (3 ms at 3,000 employers, growing with them).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 18:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('employers', schema=None) as batch_op:
        batch_op.create_index('ix_employers_name_lower', [sa.text('lower(name)')], unique=False)


def downgrade():
    with op.batch_alter_table('employers', schema=None) as batch_op:
        batch_op.drop_index('ix_employers_name_lower')
