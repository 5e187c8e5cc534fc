"""Mailpit as a local process, and its backend of devstack.mailbox.Mailbox.

The binary comes from `go install` (tools/mailpit): SMTP and the REST API, but no web
UI, whose JavaScript is built separately with npm; the image has the UI.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from devstack.mailbox import Email, Mailbox, SmtpFault, unix_time
from devstack.ports import free_port
from devstack.process import ManagedProcess, ProcessServer, StackError

REPO = Path(__file__).resolve().parent.parent
PAGE_SIZE = 250
# Chaos mode answers MAIL FROM with the code asked for; its text is always this.
CHAOS_REPLY = "Chaos sender error"


def mailpit_binary() -> str:
    local = REPO / ".tools" / "bin" / "mailpit"
    if local.exists():
        return str(local)
    found = shutil.which("mailpit")
    if found:
        return found
    raise StackError(
        "Mailpit is not installed: run `MAIL_CATCHER=mailpit make bootstrap` "
        "(builds it into .tools/bin, about 3.5 min on 2 cores)."
    )


class MailpitClient(Mailbox):
    catcher = "mailpit"

    def _search(self, address: str, start: int, limit: int) -> dict[str, Any]:
        reply = self.http.get(
            f"{self.api_url}/api/v1/search",
            params={"query": f'to:"{address}"', "start": str(start), "limit": str(limit)},
            timeout=5,
        )
        reply.raise_for_status()
        page: dict[str, Any] = reply.json()
        return page

    def _email(self, summary: dict[str, Any]) -> Email:
        raw = self.http.get(f"{self.api_url}/api/v1/message/{summary['ID']}/raw", timeout=5)
        raw.raise_for_status()
        return Email(
            to=[str(a["Address"]) for a in summary["To"] or []],
            data=raw.content,
            created=unix_time(str(summary["Created"])),
            catcher_id=str(summary["ID"]),
        )

    def messages_to(self, address: str) -> list[Email]:
        summaries: list[dict[str, Any]] = []
        while True:
            page = self._search(address, len(summaries), PAGE_SIZE)
            items = page.get("messages") or []
            summaries += items
            if not items or len(summaries) >= page["messages_count"]:
                break
        exact = [s for s in summaries if address in [a["Address"] for a in s["To"] or []]]
        return [self._email(s) for s in exact]

    def count_to(self, address: str) -> int:
        return int(self._search(address, 0, 1)["messages_count"])

    def delete(self, email: Email) -> None:
        reply = self.http.delete(
            f"{self.api_url}/api/v1/messages", json={"IDs": [email.catcher_id]}, timeout=5
        )
        reply.raise_for_status()

    def delete_all(self) -> None:
        self.http.delete(f"{self.api_url}/api/v1/messages", timeout=5).raise_for_status()

    def ping(self) -> bool:
        return self.http.get(f"{self.api_url}/readyz", timeout=1).ok

    def _chaos(self, code: int, probability: int) -> None:
        triggers = {"Sender": {"ErrorCode": code, "Probability": probability}}
        self.http.put(f"{self.api_url}/api/v1/chaos", json=triggers, timeout=5).raise_for_status()

    def start_smtp_fault(self, *, permanent: bool) -> SmtpFault:
        code = 550 if permanent else 451
        self._chaos(code, 100)
        return SmtpFault(code, CHAOS_REPLY)

    def end_smtp_fault(self) -> None:
        self._chaos(451, 0)


class MailpitServer(ProcessServer):
    def __init__(self, workdir: Path) -> None:
        self.smtp_port = free_port()
        self.http_port = free_port()
        self.process = ManagedProcess(
            "mailpit",
            [
                mailpit_binary(),
                "--smtp", f"127.0.0.1:{self.smtp_port}",
                "--listen", f"127.0.0.1:{self.http_port}",
                # It keeps only the newest 500 by default: a burst test would lose emails.
                "--max", "0",
                # The chaos triggers are off until a test sets them through the API.
                "--enable-chaos",
            ],
            workdir / "mailpit.log",
        )  # fmt: skip

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def ui_url(self) -> str | None:
        return None  # built without its UI (see the module's docstring)

    def client(self) -> MailpitClient:
        return MailpitClient(self.api_url)

    def ready(self) -> bool:
        return self.client().ping()
