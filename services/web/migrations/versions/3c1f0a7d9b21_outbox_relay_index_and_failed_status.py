"""email_events: the relay's partial index on pending rows; 'failed' status

Revision ID: 3c1f0a7d9b21
Revises: 87e2927bd9ea
Create Date: 2026-11-25 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c1f0a7d9b21'
down_revision = '87e2927bd9ea'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_constraint(op.f('ck_email_events_status'), 'email_events', type_='check')
    op.create_check_constraint(
        op.f('ck_email_events_status'), 'email_events',
        "status IN ('pending', 'queued', 'failed')",
    )
    op.create_index(
        'ix_email_events_pending_created', 'email_events', ['created_at'],
        unique=False, postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade():
    op.drop_index('ix_email_events_pending_created', table_name='email_events')
    op.execute("UPDATE email_events SET status = 'pending' WHERE status = 'failed'")
    op.drop_constraint(op.f('ck_email_events_status'), 'email_events', type_='check')
    op.create_check_constraint(
        op.f('ck_email_events_status'), 'email_events', "status IN ('pending', 'queued')"
    )
