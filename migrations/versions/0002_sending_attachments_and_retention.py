"""sending, attachments and retention

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:25:51.431719

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=50), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_attachments_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_attachments_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['people.id'], name=op.f('fk_attachments_uploaded_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('token', name=op.f('uq_attachments_token'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_organisation_id'), ['organisation_id'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancelled_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('frozen_recipients', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_messages_cancelled_by_id_people'), 'people', ['cancelled_by_id'], ['id'])

    if op.get_context().dialect.name == 'postgresql':
        # Stored uncompressed: see portal/models/messages.py, FROZEN_UNCOMPRESSED.
        op.execute('ALTER TABLE messages ALTER COLUMN frozen_recipients SET STORAGE EXTERNAL')

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_recipients_batch', ['message_id', 'batch_no'], unique=False)

    with op.batch_alter_table('usage_entries', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_usage_entries_message_id_package_id'), ['message_id', 'package_id'])



def downgrade():
    with op.batch_alter_table('usage_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_usage_entries_message_id_package_id'), type_='unique')

    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_recipients_batch')
        batch_op.drop_column('sent_at')
        batch_op.drop_column('retry_at')

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('session_version')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_messages_cancelled_by_id_people'), type_='foreignkey')
        batch_op.drop_column('frozen_recipients')
        batch_op.drop_column('erased_at')
        batch_op.drop_column('cancelled_by_id')
        batch_op.drop_column('cancelled_at')

    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_attachments_message_id'))

    op.drop_table('attachments')
