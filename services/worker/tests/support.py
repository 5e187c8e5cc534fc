"""Typed helpers of the worker tests: the scripted SMTP server and the outbox row."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bookshelf_tasks.delivery import events

MAIL_TIMEOUT = 1.0
HANG = "hang"


@dataclass
class ScriptedSMTPHandler:
    """Answers DATA with the next scripted reply ("250 ...", "451 ...", or HANG);
    the last reply repeats. RCPT replies can be scripted the same way (rcpt_replies),
    or fixed (rcpt_reply)."""

    data_replies: list[str] = field(default_factory=lambda: ["250 OK"])
    rcpt_reply: str = "250 OK"
    rcpt_replies: list[str] = field(default_factory=list)  # scripted like data_replies
    rcpt_attempts: int = 0
    on_rcpt: Callable[[], None] | None = None  # runs when RCPT arrives, before the reply
    delivered: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    data_attempts: int = 0
    released: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.on_rcpt is not None:
            self.on_rcpt()
        reply = self.rcpt_reply
        if self.rcpt_replies:
            reply = self.rcpt_replies[min(self.rcpt_attempts, len(self.rcpt_replies) - 1)]
        self.rcpt_attempts += 1
        if reply == HANG:
            await self._hang()
            return "421 closing"
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def _hang(self) -> None:
        """Say nothing until the test ends; the client must give up on its own."""
        while not self.released.is_set():
            await asyncio.sleep(0.05)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        index = min(self.data_attempts, len(self.data_replies) - 1)
        reply = self.data_replies[index]
        self.data_attempts += 1
        if reply == HANG:
            await self._hang()
            return "421 closing"
        if reply.startswith("250"):
            message = message_from_bytes(envelope.original_content, policy=policy.default)
            self.delivered.append(message)  # type: ignore[arg-type]
            self.raw.append(envelope.original_content)
        return reply


def event_row(engine: Engine, event_id: str) -> Any:
    """The outbox row of `event_id`, as the worker left it."""
    with engine.connect() as connection:
        return connection.execute(select(events).where(events.c.id == event_id)).one()
