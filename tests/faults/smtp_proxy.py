"""An SMTP server in front of MailHog that fails the way real ones do, on command.

The worker talks to it; every message it accepts is relayed to MailHog, so the mailbox
shows what a real server would have kept. Faults apply to the recipients in `targets`
(one fault case's user), so earlier cases' retries are unaffected.
"""

from __future__ import annotations

import asyncio
import smtplib
import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Fault(Enum):
    NONE = "none"
    DEFER = "defer"  # 451 to DATA
    REFUSE = "refuse"  # 550 to DATA
    LATE_REPLY = "late-reply"  # keep the message, answer 250 after `late_by` seconds
    HOLD = "hold"  # keep the message, answer 250 only when released
    SILENT = "silent"  # say nothing at RCPT until released, then go on
    HANG_UP_AT_DATA = "hang-up-at-data"  # close the connection on DATA, before its 354


@dataclass
class FaultySMTPHandler:
    upstream_port: int
    fault: Fault = Fault.NONE
    targets: set[str] = field(default_factory=set)
    remaining: int | None = None  # DATA-level faults: how many messages; None: all
    late_by: float = 0.0
    released: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)  # a message is held
    relayed: int = 0

    def inject(
        self, fault: Fault, targets: set[str], remaining: int | None = None, late_by: float = 0.0
    ) -> None:
        self.released.clear()
        self.held.clear()
        self.targets = {address.lower() for address in targets}
        self.remaining = remaining
        self.late_by = late_by
        self.fault = fault

    def clear(self) -> None:
        self.fault = Fault.NONE
        self.released.set()

    def _applies(self, envelope: Any) -> bool:
        return self.fault is not Fault.NONE and any(
            address.lower() in self.targets for address in envelope.rcpt_tos
        )

    def _take(self, envelope: Any) -> Fault:
        """The DATA-level fault for this message, counting it against `remaining`."""
        if not self._applies(envelope) or self.remaining == 0:
            return Fault.NONE
        if self.remaining is not None:
            self.remaining -= 1
        return self.fault

    async def _until_released(self) -> None:
        while not self.released.is_set():
            await asyncio.sleep(0.05)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        envelope.rcpt_tos.append(address)
        if self.fault is Fault.SILENT and self._applies(envelope):
            await self._until_released()
        return "250 OK"

    def hangs_up_at_data(self, envelope: Any) -> bool:
        return self.fault is Fault.HANG_UP_AT_DATA and self._take(envelope) is self.fault

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        not_here = (Fault.SILENT, Fault.HANG_UP_AT_DATA)
        fault = Fault.NONE if self.fault in not_here else self._take(envelope)
        if fault is Fault.DEFER:
            return "451 4.3.0 try again later"
        if fault is Fault.REFUSE:
            return "550 5.7.1 message refused"
        await asyncio.get_running_loop().run_in_executor(None, self._relay, envelope)
        if fault is Fault.LATE_REPLY:
            await asyncio.sleep(self.late_by)
        elif fault is Fault.HOLD:
            self.held.set()
            await self._until_released()
        return "250 OK"

    def _relay(self, envelope: Any) -> None:
        with smtplib.SMTP("127.0.0.1", self.upstream_port, timeout=10) as mailhog:
            mailhog.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
        self.relayed += 1


class _FaultySession(SMTP):
    """aiosmtpd's server, which has no hook before its 354 to DATA: this one can hang up
    there (Fault.HANG_UP_AT_DATA), so the message never reaches the server."""

    async def smtp_DATA(self, arg: str) -> None:
        handler: FaultySMTPHandler = self.event_handler
        if self.envelope is not None and handler.hangs_up_at_data(self.envelope):
            if self.transport is not None:
                self.transport.close()
            return
        await super().smtp_DATA(arg)


class _FaultyController(Controller):
    def factory(self) -> SMTP:
        return _FaultySession(self.handler, **self.SMTP_kwargs)


class FaultySMTP:
    """The server itself: start/stop on one port (stopped, it refuses connections)."""

    def __init__(self, port: int, upstream_port: int) -> None:
        self.port = port
        self.handler = FaultySMTPHandler(upstream_port)
        self._controller: _FaultyController | None = None

    def start(self) -> FaultySMTP:
        self._controller = _FaultyController(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        self.handler.released.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
