"""The outbox row, mapped on the table `bookshelf_tasks.delivery` defines for both services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Mapped

from bookshelf.extensions import db
from bookshelf_tasks.delivery import EmailStatus, HoldReason, email_events_table
from bookshelf_tasks.names import BOOK_NAME_BY_KIND
from bookshelf_tasks.notices import public_details


class EmailEvent(db.Model):  # type: ignore[name-defined]
    """One email to send, written in the transaction of the book change it announces.

    Its states and who moves it between them: docs/architecture.md, "Email delivery
    state". Views and templates ask it (`state`, `can_resend`, ...), never compare strings.
    """

    __table__ = email_events_table(db.metadata)

    id: Mapped[str]
    owner_id: Mapped[int]
    kind: Mapped[str]
    payload: Mapped[dict[str, Any]]
    status: Mapped[str]
    attempts: Mapped[int]
    retry_budget_start: Mapped[int]
    publications: Mapped[int]
    due_at: Mapped[datetime | None]
    data_sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None]
    created_at: Mapped[datetime]
    queued_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    request_id: Mapped[str | None]
    hold_reason: Mapped[str | None]

    @property
    def state(self) -> EmailStatus:
        return EmailStatus(self.status)

    @property
    def hold(self) -> HoldReason | None:
        """Why it waits before publication, if it does (a pending row only)."""
        return HoldReason(self.hold_reason) if self.hold_reason else None

    @property
    def can_resend(self) -> bool:
        return self.state.can_resend and self.hold is None

    @property
    def book(self) -> dict[str, Any] | None:
        """The book a book email is about; None for the other emails."""
        if self.kind not in BOOK_NAME_BY_KIND:
            return None
        return {key: self.payload.get(key) for key in ("book_id", "title", "author")}

    @property
    def details(self) -> dict[str, Any] | None:
        """What may be shown of an email that is not about a book: its public details
        (never a link holding a token); None for a book email."""
        if self.kind in BOOK_NAME_BY_KIND:
            return None
        return public_details(self.kind, self.payload.get("details") or {})

    @property
    def in_flight(self) -> bool:
        """On its way: not finished, and not held back until something releases it."""
        return self.state.in_flight and not (self.hold and self.due_at is None)

    @property
    def maybe_delivered(self) -> bool:
        return self.state.maybe_delivered

    @property
    def sent_at(self) -> datetime | None:
        """When the SMTP server accepted it; None unless it is sent."""
        return self.delivered_at if self.state.delivered else None

    def to_dict(self) -> dict[str, Any]:
        """What the API says of the event (openapi.yaml, EmailEvent)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "book": self.book,
            "details": self.details,
            "hold_reason": self.hold_reason,
            "attempts": self.attempts - self.retry_budget_start,  # since the last resend
            "created_at": self.created_at.isoformat(),
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
            "reason": self.last_error,
        }
