"""EmailEvent answers what pages and the API ask of its state (pure: no database)."""

from datetime import UTC, datetime

import pytest

from bookshelf.outbox.models import EmailEvent
from bookshelf_tasks.delivery import EmailStatus

DELIVERED = datetime(2026, 3, 1, 10, 15, tzinfo=UTC)


@pytest.mark.parametrize("status", list(EmailStatus))
def test_each_state_is_asked_not_compared(status: EmailStatus) -> None:
    event = EmailEvent(status=status.value, delivered_at=DELIVERED)
    assert event.state is status
    assert event.can_resend is (status in {"pending", "failed", "uncertain"})
    assert event.in_flight is (status in {"pending", "queued", "sending", "retrying"})
    assert event.maybe_delivered is (status == "uncertain")
    assert event.sent_at == (DELIVERED if status == "sent" else None)


def test_a_sent_email_without_a_time_has_no_sent_at() -> None:
    assert EmailEvent(status="sent", delivered_at=None).sent_at is None
