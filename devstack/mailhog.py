"""MailHog as a local process, and its backend of devstack.mailbox.Mailbox."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from devstack.mailbox import Email, Mailbox, SmtpFault, unix_time
from devstack.ports import free_port
from devstack.process import ManagedProcess, ProcessServer, StackError

REPO = Path(__file__).resolve().parent.parent
PAGE_SIZE = 250  # MailHog caps a page at 250 whatever `limit` says.
# Jim, MailHog's chaos monkey, has no 4xx: its refusals are 550s, and its transient
# failure is a connection closed as soon as it is accepted.
JIM_OFF = {"AcceptChance": 1.0}
JIM_FAULTS = {
    True: ({**JIM_OFF, "RejectSenderChance": 1.0}, SmtpFault(550, "Invalid sender")),
    False: ({"AcceptChance": 0.0}, SmtpFault(None, "Connection unexpectedly closed")),
}


def mailhog_binary() -> str:
    local = REPO / ".tools" / "bin" / "MailHog"
    if local.exists():
        return str(local)
    found = shutil.which("MailHog")
    if found:
        return found
    raise StackError("MailHog is not installed: run `make bootstrap` (builds it into .tools/bin).")


def email_of(item: dict[str, Any]) -> Email:
    return Email(
        to=[f"{r['Mailbox']}@{r['Domain']}" for r in item["To"]],
        # Raw.Data is the SMTP data as received, read by the JSON decoder as text.
        data=str(item["Raw"]["Data"]).encode("utf-8", "surrogateescape"),
        created=unix_time(str(item["Created"])),
        catcher_id=str(item["ID"]),
    )


class MailHogClient(Mailbox):
    catcher = "mailhog"
    # Jim is handed to each SMTP session when it is accepted.
    fault_reaches_open_connections = False

    def _search(self, address: str, start: int, limit: int) -> dict[str, Any]:
        reply = self.http.get(
            f"{self.api_url}/api/v2/search",
            params={"kind": "to", "query": address, "start": str(start), "limit": str(limit)},
            timeout=5,
        )
        reply.raise_for_status()
        page: dict[str, Any] = reply.json()
        return page

    def messages_to(self, address: str) -> list[Email]:
        found: list[Email] = []
        start = 0
        while True:
            page = self._search(address, start, PAGE_SIZE)
            items = page.get("items") or []
            found += [e for e in map(email_of, items) if address in e.to]
            start += len(items)
            if not items or start >= page["total"]:
                return found

    def count_to(self, address: str) -> int:
        return int(self._search(address, 0, 1)["total"])

    def delete(self, email: Email) -> None:
        """Remove one message (by MailHog's own id)."""
        reply = self.http.delete(f"{self.api_url}/api/v1/messages/{email.catcher_id}", timeout=5)
        reply.raise_for_status()

    def delete_all(self) -> None:
        self.http.delete(f"{self.api_url}/api/v1/messages", timeout=5).raise_for_status()

    def ping(self) -> bool:
        return self.http.get(f"{self.api_url}/api/v2/messages?limit=1", timeout=1).ok

    def start_smtp_fault(self, *, permanent: bool) -> SmtpFault:
        settings, fault = JIM_FAULTS[permanent]
        # POST invites Jim (409 when he is already in); PUT changes his settings.
        self.http.post(f"{self.api_url}/api/v2/jim", json=settings, timeout=5)
        self.http.put(f"{self.api_url}/api/v2/jim", json=settings, timeout=5).raise_for_status()
        return fault

    def end_smtp_fault(self) -> None:
        reply = self.http.delete(f"{self.api_url}/api/v2/jim", timeout=5)
        if reply.status_code != 404:  # 404: Jim was not there
            reply.raise_for_status()


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

    @property
    def ui_url(self) -> str | None:
        return f"{self.api_url}/"

    def client(self) -> MailHogClient:
        return MailHogClient(self.api_url)

    def ready(self) -> bool:
        return self.client().ping()
