"""email_events: delivery state in Postgres (attempts, leases by due_at, DATA mark)

The worker now claims and records every email here (bookshelf_tasks.delivery): new
statuses sending/retrying/uncertain, one due time that the relay watches for every
row in flight, the attempt counter that fences a worker whose lease ran out, and the
time DATA began (the point of no return). task_id goes: it was always the event id.

Revision ID: d5f1a9c3e7b2
Revises: c4e8a1f3b5d7
Create Date: 2026-11-25 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5f1a9c3e7b2'
down_revision = 'c4e8a1f3b5d7'
branch_labels = None
depends_on = None

IN_FLIGHT = "status IN ('pending', 'queued', 'retrying', 'sending')"


def upgrade():
    op.add_column('email_events', sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
    op.add_column('email_events', sa.Column('publications', sa.Integer(), server_default='0', nullable=False))
    op.add_column('email_events', sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('email_events', sa.Column('data_sent_at', sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint(op.f('ck_email_events_status'), 'email_events', type_='check')
    op.create_check_constraint(
        op.f('ck_email_events_status'), 'email_events',
        "status IN ('pending', 'queued', 'sending', 'retrying', 'sent', 'failed', 'uncertain')",
    )
    # Rows in flight become due now: the relay publishes them again at its first pass,
    # and a worker's claim drops any copy whose event was already delivered.
    op.execute(f"UPDATE email_events SET due_at = now() WHERE {IN_FLIGHT}")
    op.drop_index('ix_email_events_pending_created', table_name='email_events')
    op.drop_index('ix_email_events_queued_queued_at', table_name='email_events')
    op.create_index(
        'ix_email_events_due', 'email_events', ['due_at'],
        unique=False, postgresql_where=sa.text(IN_FLIGHT),
    )
    op.drop_column('email_events', 'task_id')


def downgrade():
    op.add_column('email_events', sa.Column('task_id', sa.String(length=255), nullable=True))
    op.execute("UPDATE email_events SET task_id = id")
    op.drop_index('ix_email_events_due', table_name='email_events')
    op.execute(
        "UPDATE email_events SET status = 'queued' WHERE status IN ('sending', 'retrying')"
    )
    op.execute("UPDATE email_events SET status = 'failed' WHERE status = 'uncertain'")
    op.drop_constraint(op.f('ck_email_events_status'), 'email_events', type_='check')
    op.create_check_constraint(
        op.f('ck_email_events_status'), 'email_events',
        "status IN ('pending', 'queued', 'sent', 'failed')",
    )
    op.create_index(
        'ix_email_events_queued_queued_at', 'email_events', ['queued_at'],
        unique=False, postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index(
        'ix_email_events_pending_created', 'email_events', ['created_at'],
        unique=False, postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_column('email_events', 'data_sent_at')
    op.drop_column('email_events', 'due_at')
    op.drop_column('email_events', 'publications')
    op.drop_column('email_events', 'attempts')
