"""email_events: 'sent' status and delivered_at, recorded from the result backend

Revision ID: 9e4b6c2d7f10
Revises: 3c1f0a7d9b21
Create Date: 2026-11-25 11:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9e4b6c2d7f10'
down_revision = '3c1f0a7d9b21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('email_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f('ck_email_events_status'), 'email_events', type_='check')
    op.create_check_constraint(
        op.f('ck_email_events_status'), 'email_events',
        "status IN ('pending', 'queued', 'sent', 'failed')",
    )


def downgrade():
    # A recorded outcome goes back to 'queued': the page reads the backend again.
    op.execute("UPDATE email_events SET status = 'queued' WHERE status = 'sent'")
    op.drop_constraint(op.f('ck_email_events_status'), 'email_events', type_='check')
    op.create_check_constraint(
        op.f('ck_email_events_status'), 'email_events',
        "status IN ('pending', 'queued', 'failed')",
    )
    with op.batch_alter_table('email_events', schema=None) as batch_op:
        batch_op.drop_column('delivered_at')
