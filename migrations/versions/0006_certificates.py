"""certificates: issued documents (numbered per year, hashed, verifiable), their counters, uploaded templates

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-22 17:38:31.008226

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificate_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_certificate_counters'))
    )
    op.create_table('certificate_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('storage_path', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('original_filename', sa.String(length=200), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('retired_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('attestation', 'realisation')", name=op.f('ck_certificate_templates_kind')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_certificate_templates_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_templates'))
    )
    with op.batch_alter_table('certificate_templates', schema=None) as batch_op:
        batch_op.create_index('uq_certificate_templates_in_use', ['kind'], unique=True, sqlite_where=sa.text('retired_at IS NULL'), postgresql_where=sa.text('retired_at IS NULL'))

    op.create_table('issued_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('verification_code', sa.String(length=20), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_path', sa.String(length=300), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('file_format', sa.String(length=10), nullable=False),
    sa.Column('template_sha256', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('replaced_at', sa.DateTime(), nullable=True),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.Column('trainee_name', sa.String(length=250), nullable=False),
    sa.Column('course_title', sa.String(length=300), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('planned_minutes', sa.Integer(), nullable=False),
    sa.Column('attended_minutes', sa.Integer(), nullable=False),
    sa.CheckConstraint("file_format IN ('docx', 'pdf')", name=op.f('ck_issued_certificates_file_format')),
    sa.CheckConstraint("kind IN ('attestation', 'realisation')", name=op.f('ck_issued_certificates_kind')),
    sa.CheckConstraint('replaced_by_id IS NULL OR replaced_at IS NOT NULL', name=op.f('ck_issued_certificates_replaced_has_date')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_issued_certificates_version_positive')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_issued_certificates_enrolment_id_enrolments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_issued_certificates_issued_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['issued_certificates.id'], name=op.f('fk_issued_certificates_replaced_by_id_issued_certificates'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_certificates')),
    sa.UniqueConstraint('enrolment_id', 'kind', 'version', name=op.f('uq_issued_certificates_enrolment_id_kind_version')),
    sa.UniqueConstraint('number', name=op.f('uq_issued_certificates_number')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_issued_certificates_verification_code')),
    sa.UniqueConstraint('year', 'sequence', name=op.f('uq_issued_certificates_year_sequence'))
    )
    with op.batch_alter_table('issued_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_certificates_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index('uq_issued_certificates_current', ['enrolment_id', 'kind'], unique=True, sqlite_where=sa.text('replaced_at IS NULL'), postgresql_where=sa.text('replaced_at IS NULL'))



def downgrade():
    with op.batch_alter_table('issued_certificates', schema=None) as batch_op:
        batch_op.drop_index('uq_issued_certificates_current', sqlite_where=sa.text('replaced_at IS NULL'), postgresql_where=sa.text('replaced_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_issued_certificates_enrolment_id'))

    op.drop_table('issued_certificates')
    with op.batch_alter_table('certificate_templates', schema=None) as batch_op:
        batch_op.drop_index('uq_certificate_templates_in_use', sqlite_where=sa.text('retired_at IS NULL'), postgresql_where=sa.text('retired_at IS NULL'))

    op.drop_table('certificate_templates')
    op.drop_table('certificate_counters')
