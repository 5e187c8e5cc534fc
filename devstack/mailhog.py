"""MailHog as a local process, and a small client for its HTTP API."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from devstack.ports import free_port
from devstack.process import ManagedProcess, ProcessServer, StackError

REPO = Path(__file__).resolve().parent.parent
PAGE_SIZE = 250  # MailHog caps a page at 250 whatever `limit` says.


def mailhog_binary() -> str:
    local = REPO / ".tools" / "bin" / "MailHog"
    if local.exists():
        return str(local)
    found = shutil.which("MailHog")
    if found:
        return found
    raise StackError("MailHog is not installed: run `make bootstrap` (builds it into .tools/bin).")


@dataclass(frozen=True)
class Email:
    """The parts of a MailHog message the tests look at."""

    raw: dict[str, Any]

    def header(self, name: str) -> str:
        values = self.raw["Content"]["Headers"].get(name) or [""]
        return str(values[0])

    @property
    def to(self) -> list[str]:
        return [f"{r['Mailbox']}@{r['Domain']}" for r in self.raw["To"]]

    @property
    def subject(self) -> str:
        from email.header import decode_header, make_header

        return str(make_header(decode_header(self.header("Subject"))))

    @property
    def message_id(self) -> str:
        return self.header("Message-ID")

    def part(self, content_type: str) -> str:
        """The decoded body of the first MIME part of `content_type`.

        Raw.Data is the SMTP data as sent; an 8bit part only decodes right when it is
        parsed as the bytes it was, not as text.
        """
        import email
        from email import policy

        raw = str(self.raw["Raw"]["Data"]).encode("utf-8", "surrogateescape")
        message = email.message_from_bytes(raw, policy=policy.default)
        for part in message.walk():
            if part.get_content_type() == content_type:
                return str(part.get_content())
        raise KeyError(f"no {content_type} part in {self.subject!r}")


class MailHogClient:
    def __init__(self, api_url: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.http = requests.Session()

    def messages_to(self, address: str) -> list[Email]:
        found: list[Email] = []
        start = 0
        while True:
            reply = self.http.get(
                f"{self.api_url}/api/v2/search",
                params={
                    "kind": "to",
                    "query": address,
                    "start": str(start),
                    "limit": str(PAGE_SIZE),
                },
                timeout=5,
            )
            reply.raise_for_status()
            page = reply.json()
            items = page.get("items") or []
            found += [Email(item) for item in items if address in Email(item).to]
            start += len(items)
            if not items or start >= page["total"]:
                return found

    def wait_for(self, address: str, count: int, timeout: float = 20.0) -> list[Email]:
        """Poll until `address` has at least `count` messages, or fail at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages_to(address)
            if len(found) >= count or time.monotonic() >= deadline:
                if len(found) < count:
                    raise AssertionError(
                        f"{address} got {len(found)} of {count} emails within {timeout:.0f}s"
                    )
                return found
            time.sleep(0.05)

    def delete(self, email: Email) -> None:
        """Remove one message (by MailHog's own id)."""
        reply = self.http.delete(f"{self.api_url}/api/v1/messages/{email.raw['ID']}", timeout=5)
        reply.raise_for_status()

    def delete_all(self) -> None:
        self.http.delete(f"{self.api_url}/api/v1/messages", timeout=5).raise_for_status()

    def ping(self) -> bool:
        return self.http.get(f"{self.api_url}/api/v2/messages?limit=1", timeout=1).ok


class MailHogServer(ProcessServer):
    def __init__(self, workdir: Path) -> None:
        self.smtp_port = free_port()
        self.http_port = free_port()
        api = f"127.0.0.1:{self.http_port}"
        self.process = ManagedProcess(
            "mailhog",
            [
                mailhog_binary(),
                "-smtp-bind-addr",
                f"127.0.0.1:{self.smtp_port}",
                "-api-bind-addr",
                api,
                "-ui-bind-addr",
                api,
            ],
            workdir / "mailhog.log",
        )

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def client(self) -> MailHogClient:
        return MailHogClient(self.api_url)

    def ready(self) -> bool:
        return self.client().ping()
