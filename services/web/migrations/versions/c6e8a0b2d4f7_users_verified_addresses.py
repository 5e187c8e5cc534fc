"""users: verified addresses, a pending new address, and when account emails went out

`email_verified_at`: book emails wait (held, `unverified`) until it is set. Accounts
that existed before verification keep their emails: they are counted verified from
their creation. `pending_email`: a new address waiting for its own verification.
`*_sent_at`: when the last verification, reset and "someone tried to register your
address" email went out, so each is sent at most once per interval per account.

Revision ID: c6e8a0b2d4f7
Revises: b3d5f7a9c1e4
Create Date: 2026-11-25 19:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c6e8a0b2d4f7'
down_revision = 'b3d5f7a9c1e4'
branch_labels = None
depends_on = None

COLUMNS = ('email_verified_at', 'verify_sent_at', 'reset_sent_at', 'signup_notice_sent_at')


def upgrade():
    for name in COLUMNS:
        op.add_column('users', sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('pending_email', sa.String(length=254), nullable=True))
    op.execute("UPDATE users SET email_verified_at = created_at")


def downgrade():
    op.drop_column('users', 'pending_email')
    for name in reversed(COLUMNS):
        op.drop_column('users', name)
