"""users.is_admin, and a partial index on the outbox's dead letters

The operator's dead-letter page, `flask outbox list` and the metrics read the failed
and uncertain emails of every user; the index keeps that read off the 'sent' rows,
which are nearly the whole table.

Revision ID: a9d3f5b7c1e2
Revises: a9c4e2f7b318
Create Date: 2026-11-25 19:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a9d3f5b7c1e2'
down_revision = 'a9c4e2f7b318'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'users',
        sa.Column('is_admin', sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(
        'ix_email_events_dead_letters',
        'email_events',
        ['created_at'],
        postgresql_where=sa.text("status IN ('failed', 'uncertain')"),
    )


def downgrade():
    op.drop_index('ix_email_events_dead_letters', table_name='email_events')
    op.drop_column('users', 'is_admin')
