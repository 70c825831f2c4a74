"""enrolments: convocation texts per session and the record of each convocation sent

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 17:33:59.903375

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('convocation_texts',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('what_to_bring', sa.Text(), nullable=False),
    sa.Column('absence_procedure', sa.Text(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_convocation_texts_session_id_training_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_convocation_texts'))
    )
    op.create_table('convocation_sendings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('sent_to', sa.String(length=254), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('document_path', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_convocation_sendings_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_convocation_sendings_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_convocation_sendings'))
    )
    with op.batch_alter_table('convocation_sendings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_convocation_sendings_enrolment_id'), ['enrolment_id'], unique=False)



def downgrade():
    with op.batch_alter_table('convocation_sendings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_convocation_sendings_enrolment_id'))

    op.drop_table('convocation_sendings')
    op.drop_table('convocation_texts')
