"""recipients.person_id indexed: erasing a person's contact data finds their rows

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 20:55:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recipients_person_id'), ['person_id'], unique=False)


def downgrade():
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recipients_person_id'))
