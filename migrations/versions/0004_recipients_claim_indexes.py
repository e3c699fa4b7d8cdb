"""recipients: the batch index by channel and in id order, the provider id index of sent SMS

A claim takes the first rows of its batch by id; this index gives them in that order.
With (message, batch) the planner could take the status index instead and read every
pending row of the message, or walk the primary key from the message's first row, for
each claim. Rows without a provider id (every row until it is sent) are left out of
that index, which each of their updates wrote to before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

SENT_ONLY = sa.text('provider_id IS NOT NULL')


def upgrade():
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_recipients_batch')
        batch_op.create_index(
            'ix_recipients_batch', ['message_id', 'channel', 'batch_no', 'id'], unique=False
        )
        batch_op.drop_index('ix_recipients_provider_id')
        batch_op.create_index(
            'ix_recipients_provider_id',
            ['provider_id'],
            unique=False,
            postgresql_where=SENT_ONLY,
            sqlite_where=SENT_ONLY,
        )


def downgrade():
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_recipients_provider_id')
        batch_op.create_index('ix_recipients_provider_id', ['provider_id'], unique=False)
        batch_op.drop_index('ix_recipients_batch')
        batch_op.create_index('ix_recipients_batch', ['message_id', 'batch_no'], unique=False)
