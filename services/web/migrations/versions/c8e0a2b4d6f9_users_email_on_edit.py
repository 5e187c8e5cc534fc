"""users.email_on_edit: an email for each edit of a book, if the user asks for it

Revision ID: c8e0a2b4d6f9
Revises: a1c3e5f7b9d2
Create Date: 2026-11-25 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c8e0a2b4d6f9'
down_revision = 'a1c3e5f7b9d2'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'users',
        sa.Column('email_on_edit', sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade():
    op.drop_column('users', 'email_on_edit')
