"""A slow SMTP server in the bench process: it answers every message's DATA after
`delay` seconds (a real provider's 200 ms) and keeps only when each arrived and its
Message-ID, so emails are counted per Message-ID without loading MailHog."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller

from devstack.ports import free_port

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass
class SlowHandler:
    delay: float
    # (when the 250 was sent, time.time(); the Message-ID)
    accepted: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        content = envelope.original_content or b""
        head = content.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(head)
        with self.lock:
            self.accepted.append((time.time(), found.group(1).decode() if found else ""))
        return "250 2.0.0 accepted"


class SlowSMTPServer:
    """`with SlowSMTPServer(0.2) as smtp:` on a free loopback port."""

    def __init__(self, delay: float) -> None:
        self.port = free_port()
        self.handler = SlowHandler(delay)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SlowSMTPServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def count(self) -> int:
        return len(self.handler.accepted)

    def accepted_between(self, start: float, end: float) -> int:
        with self.handler.lock:
            return sum(1 for at, _ in self.handler.accepted if start <= at < end)
