"""email_events: request_id, the X-Request-ID of the request that wrote the event

Revision ID: b7d2e4f6a8c0
Revises: 9e4b6c2d7f10
Create Date: 2026-11-26 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d2e4f6a8c0'
down_revision = '9e4b6c2d7f10'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable: rows written before this revision (and outside a request) have none.
    with op.batch_alter_table('email_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('email_events', schema=None) as batch_op:
        batch_op.drop_column('request_id')
