"""import_jobs, book_activity; users.email_preference and users.timezone

A CSV import runs as a job the worker holds under a lease (import_jobs); a user who
chose the daily digest gets book_activity rows instead of one email per change; every
date is shown in the user's time zone.

Revision ID: a9c4e2f7b318
Revises: a4c6e8f0b2d4
Create Date: 2026-11-25 19:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a9c4e2f7b318'
down_revision = 'a4c6e8f0b2d4'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'users',
        sa.Column('email_preference', sa.String(length=10), server_default='each', nullable=False),
    )
    op.add_column(
        'users',
        sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False),
    )
    op.create_check_constraint(
        op.f('ck_users_email_preference'), 'users', "email_preference IN ('each', 'digest', 'none')"
    )
    op.create_table(
        'import_jobs',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), server_default='queued', nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('file_format', sa.String(length=16), nullable=False),
        sa.Column('rows', sa.JSON(), nullable=False),
        sa.Column('refused', sa.JSON(), nullable=False),
        sa.Column('total_rows', sa.Integer(), nullable=False),
        sa.Column('processed', sa.Integer(), server_default='0', nullable=False),
        sa.Column('imported', sa.Integer(), server_default='0', nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('request_id', sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_import_jobs_status')
        ),
        sa.ForeignKeyConstraint(
            ['owner_id'], ['users.id'], name=op.f('fk_import_jobs_owner_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_jobs')),
    )
    op.create_index('ix_import_jobs_owner_created', 'import_jobs', ['owner_id', 'created_at'])
    op.create_index(
        'ix_import_jobs_unfinished',
        'import_jobs',
        ['lease_until'],
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    op.create_table(
        'book_activity',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('author', sa.String(length=200), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('added', 'deleted')", name=op.f('ck_book_activity_kind')),
        sa.ForeignKeyConstraint(
            ['owner_id'], ['users.id'], name=op.f('fk_book_activity_owner_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_book_activity')),
    )
    op.create_index(
        'ix_book_activity_owner_occurred', 'book_activity', ['owner_id', 'occurred_at']
    )


def downgrade():
    op.drop_index('ix_book_activity_owner_occurred', table_name='book_activity')
    op.drop_table('book_activity')
    op.drop_index('ix_import_jobs_unfinished', table_name='import_jobs')
    op.drop_index('ix_import_jobs_owner_created', table_name='import_jobs')
    op.drop_table('import_jobs')
    op.drop_constraint(op.f('ck_users_email_preference'), 'users', type_='check')
    op.drop_column('users', 'timezone')
    op.drop_column('users', 'email_preference')
