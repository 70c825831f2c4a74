"""attendance sheets, records, signatures, versions

Half-day attendance: one sheet per slot (open / closed, paper scan), one record per enrolment and
slot, signatures (one per trainee and one per trainer per slot, unique constraints) with their PNG
image, and the append-only versions of each sheet.

Revision ID: 0004
Revises: 0005
Create Date: 2026-11-22 17:41:01.334630

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attendance_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('arrival_time', sa.Time(), nullable=True),
    sa.Column('departure_time', sa.Time(), nullable=True),
    sa.Column('minutes_attended', sa.Integer(), nullable=False),
    sa.Column('justification', sa.Text(), nullable=False),
    sa.Column('justification_path', sa.String(length=300), nullable=False),
    sa.Column('justification_kind', sa.String(length=10), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('present', 'late', 'left_early', 'absent_justified', 'absent_unjustified')", name=op.f('ck_attendance_records_status')),
    sa.CheckConstraint('arrival_time IS NULL OR departure_time IS NULL OR arrival_time < departure_time', name=op.f('ck_attendance_records_arrives_before_leaving')),
    sa.CheckConstraint('minutes_attended >= 0', name=op.f('ck_attendance_records_minutes_positive')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_attendance_records_enrolment_id_enrolments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['slot_id'], ['slots.id'], name=op.f('fk_attendance_records_slot_id_slots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_attendance_records_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_records')),
    sa.UniqueConstraint('slot_id', 'enrolment_id', name=op.f('uq_attendance_records_slot_id_enrolment_id'))
    )
    with op.batch_alter_table('attendance_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_records_enrolment_id'), ['enrolment_id'], unique=False)

    op.create_table('attendance_sheets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('scan_path', sa.String(length=300), nullable=False),
    sa.Column('scan_kind', sa.String(length=10), nullable=False),
    sa.Column('scan_uploaded_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_attendance_sheets_status')),
    sa.CheckConstraint('version >= 0', name=op.f('ck_attendance_sheets_version_positive')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_attendance_sheets_closed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['slot_id'], ['slots.id'], name=op.f('fk_attendance_sheets_slot_id_slots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_sheets')),
    sa.UniqueConstraint('slot_id', name=op.f('uq_attendance_sheets_slot_id'))
    )
    op.create_table('attendance_signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('trainer_id', sa.Integer(), nullable=True),
    sa.Column('signer_name', sa.String(length=200), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=False),
    sa.Column('user_agent', sa.String(length=400), nullable=False),
    sa.Column('image_sha256', sa.String(length=64), nullable=False),
    sa.Column('image', sa.LargeBinary(), nullable=False),
    sa.CheckConstraint("method IN ('device', 'personal_link', 'qr')", name=op.f('ck_attendance_signatures_method')),
    sa.CheckConstraint('(enrolment_id IS NULL AND trainer_id IS NOT NULL) OR (enrolment_id IS NOT NULL AND trainer_id IS NULL)', name=op.f('ck_attendance_signatures_one_signer')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_attendance_signatures_enrolment_id_enrolments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['slot_id'], ['slots.id'], name=op.f('fk_attendance_signatures_slot_id_slots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trainer_id'], ['users.id'], name=op.f('fk_attendance_signatures_trainer_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_signatures')),
    sa.UniqueConstraint('slot_id', 'enrolment_id', name=op.f('uq_attendance_signatures_slot_id_enrolment_id')),
    sa.UniqueConstraint('slot_id', 'trainer_id', name=op.f('uq_attendance_signatures_slot_id_trainer_id'))
    )
    with op.batch_alter_table('attendance_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_signatures_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendance_signatures_trainer_id'), ['trainer_id'], unique=False)

    op.create_table('attendance_sheet_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sheet_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_attendance_sheet_versions_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sheet_id'], ['attendance_sheets.id'], name=op.f('fk_attendance_sheet_versions_sheet_id_attendance_sheets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_sheet_versions')),
    sa.UniqueConstraint('sheet_id', 'number', name=op.f('uq_attendance_sheet_versions_sheet_id_number'))
    )
    with op.batch_alter_table('attendance_sheet_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_sheet_versions_sheet_id'), ['sheet_id'], unique=False)



def downgrade():
    with op.batch_alter_table('attendance_sheet_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_sheet_versions_sheet_id'))

    op.drop_table('attendance_sheet_versions')
    with op.batch_alter_table('attendance_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_signatures_trainer_id'))
        batch_op.drop_index(batch_op.f('ix_attendance_signatures_enrolment_id'))

    op.drop_table('attendance_signatures')
    op.drop_table('attendance_sheets')
    with op.batch_alter_table('attendance_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_records_enrolment_id'))

    op.drop_table('attendance_records')
