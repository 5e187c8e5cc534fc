"""email_events: partial index on queued rows by queued_at, for the relay's stale scan

Revision ID: c4e8a1f3b5d7
Revises: b7d2e4f6a8c0
Create Date: 2026-11-27 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8a1f3b5d7'
down_revision = 'b7d2e4f6a8c0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_email_events_queued_queued_at', 'email_events', ['queued_at'],
        unique=False, postgresql_where=sa.text("status = 'queued'"),
    )


def downgrade():
    op.drop_index('ix_email_events_queued_queued_at', table_name='email_events')
