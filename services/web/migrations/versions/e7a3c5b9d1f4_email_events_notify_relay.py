"""email_events: wake the outbox relay at commit (NOTIFY from an INSERT trigger)

The request no longer publishes: each INSERT of an outbox row notifies channel
`email_events_due`, which Postgres delivers at commit, so the relay (LISTEN) publishes
within milliseconds, and not at all for a transaction that rolled back. A statement
trigger, so an import of many rows wakes it once.

Revision ID: e7a3c5b9d1f4
Revises: d5f1a9c3e7b2
Create Date: 2026-11-25 18:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e7a3c5b9d1f4'
down_revision = 'd5f1a9c3e7b2'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        """
        CREATE FUNCTION email_events_notify_due() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('email_events_due', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER email_events_notify_due
        AFTER INSERT ON email_events
        FOR EACH STATEMENT EXECUTE FUNCTION email_events_notify_due()
        """
    )


def downgrade():
    op.execute("DROP TRIGGER email_events_notify_due ON email_events")
    op.execute("DROP FUNCTION email_events_notify_due()")
