"""email_events: emails that are not about a book, and held emails

`kind` now names any email of the contract (bookshelf_tasks.names), so the column is
wider and its CHECK keeps only the shape of a kind: the payload's own validation knows
the kinds. `hold_reason` says why a pending row is held back (due_at NULL: until
released; docs/architecture.md, "Email delivery state").

Revision ID: b3d5f7a9c1e4
Revises: f2b8d4a6c0e1
Create Date: 2026-11-25 19:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3d5f7a9c1e4'
down_revision = 'f2b8d4a6c0e1'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_constraint(op.f('ck_email_events_kind'), 'email_events', type_='check')
    op.alter_column(
        'email_events', 'kind', type_=sa.String(length=32), existing_nullable=False
    )
    op.create_check_constraint(
        op.f('ck_email_events_kind'), 'email_events', "kind ~ '^[a-z_]{1,32}$'"
    )
    op.add_column('email_events', sa.Column('hold_reason', sa.String(length=32), nullable=True))
    op.create_check_constraint(
        op.f('ck_email_events_hold_pending'),
        'email_events',
        "hold_reason IS NULL OR status = 'pending'",
    )


def downgrade():
    op.drop_constraint(op.f('ck_email_events_hold_pending'), 'email_events', type_='check')
    op.drop_column('email_events', 'hold_reason')
    op.execute("DELETE FROM email_events WHERE kind NOT IN ('added', 'deleted')")
    op.drop_constraint(op.f('ck_email_events_kind'), 'email_events', type_='check')
    op.alter_column(
        'email_events', 'kind', type_=sa.String(length=16), existing_nullable=False
    )
    op.create_check_constraint(
        op.f('ck_email_events_kind'), 'email_events', "kind IN ('added', 'deleted')"
    )
