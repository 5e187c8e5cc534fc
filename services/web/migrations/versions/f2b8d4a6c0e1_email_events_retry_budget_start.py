"""email_events: retry_budget_start, so "send again" never reuses an attempt number

The attempt number fences a worker whose lease ran out; resetting it on "send again"
let an old attempt and a new one share a number. The retry budget now counts from
retry_budget_start instead.

Revision ID: f2b8d4a6c0e1
Revises: e7a3c5b9d1f4
Create Date: 2026-11-25 18:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f2b8d4a6c0e1'
down_revision = 'e7a3c5b9d1f4'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'email_events',
        sa.Column('retry_budget_start', sa.Integer(), server_default='0', nullable=False),
    )


def downgrade():
    op.drop_column('email_events', 'retry_budget_start')
