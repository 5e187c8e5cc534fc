"""The mail catcher's mailbox, read the same way whichever catcher runs (MAIL_CATCHER).

`Mailbox` is what the tests, the fault suite and the benchmarks use: the emails sent to an
address, a bounded wait for them, emptying the box, and the catcher's SMTP chaos switch.
Each catcher (devstack.mailhog, devstack.mailpit) implements the few calls that differ.
"""

from __future__ import annotations

import email
import time
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage

import requests


@dataclass(frozen=True)
class Email:
    """One caught email: its envelope recipients, the SMTP data as sent, and when the
    catcher received it (a Unix time)."""

    to: list[str]
    data: bytes
    created: float
    catcher_id: str = ""  # the catcher's own id of the message (delete)

    @property
    def message(self) -> EmailMessage:
        # An 8bit part only decodes right when it is parsed as the bytes it was sent as.
        return email.message_from_bytes(self.data, policy=policy.default)

    def header(self, name: str) -> str:
        head = self.data.split(b"\r\n\r\n", 1)[0]
        parsed = email.message_from_bytes(head + b"\r\n\r\n", policy=policy.compat32)
        return str(parsed.get(name, ""))

    @property
    def subject(self) -> str:
        return str(make_header(decode_header(self.header("Subject"))))

    @property
    def message_id(self) -> str:
        return self.header("Message-ID")

    def part(self, content_type: str) -> str:
        """The decoded body of the first MIME part of `content_type`."""
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return str(part.get_content())
        raise KeyError(f"no {content_type} part in {self.subject!r}")


def unix_time(rfc3339: str) -> float:
    """A catcher's `Created`: RFC 3339 with up to nanoseconds (MailHog trims trailing
    zeros, Mailpit gives milliseconds); fromisoformat takes at most 6 digits."""
    stamp = rfc3339.replace("Z", "+00:00")
    base, dot, rest = stamp.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction, zone = rest[:digits], rest[digits:]
        stamp = f"{base}.{fraction.ljust(6, '0')[:6]}{zone}"
    return datetime.fromisoformat(stamp).timestamp()


@dataclass(frozen=True)
class SmtpFault:
    """What the worker is told while a fault is on: the reply code (None: the connection
    is dropped before any reply) and the catcher's text, as the status page shows it."""

    code: int | None
    reply: str


class Mailbox:
    """The API of a running catcher at `api_url`."""

    catcher = ""
    # Whether start_smtp_fault() also reaches the SMTP connections already open (the
    # worker keeps one per thread), or only those opened after it.
    fault_reaches_open_connections = True

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.http = requests.Session()

    # --- per catcher -----------------------------------------------------------
    def messages_to(self, address: str) -> list[Email]:
        """Every email whose envelope is addressed to exactly `address`."""
        raise NotImplementedError

    def count_to(self, address: str) -> int:
        """How many emails the catcher's search finds for `address`: one small request,
        cheap enough to poll (a search may also match an address that contains it)."""
        raise NotImplementedError

    def delete(self, email: Email) -> None:
        """Remove one message (by the catcher's own id)."""
        raise NotImplementedError

    def delete_all(self) -> None:
        raise NotImplementedError

    def ping(self) -> bool:
        raise NotImplementedError

    def start_smtp_fault(self, *, permanent: bool) -> SmtpFault:
        """Make the SMTP side refuse every message from now on: with a permanent (5xx)
        refusal, or a transient failure, until end_smtp_fault()."""
        raise NotImplementedError

    def end_smtp_fault(self) -> None:
        raise NotImplementedError

    # --- the same for every catcher ---------------------------------------------
    def wait_for(self, address: str, count: int, timeout: float = 20.0) -> list[Email]:
        """Poll until `address` has at least `count` emails, or fail at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            if self.count_to(address) >= count:
                found = self.messages_to(address)
                if len(found) >= count:
                    return found
            if time.monotonic() >= deadline:
                found = self.messages_to(address)
                if len(found) >= count:
                    return found
                raise AssertionError(
                    f"{address} got {len(found)} of {count} emails within {timeout:.0f}s"
                )
            time.sleep(0.05)
