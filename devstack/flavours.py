"""The two choices an operator makes, one setting each, read the same way by compose
(the images) and devstack (the local binaries):

- BROKER=keydb|valkey|redis, the Redis-protocol broker (KeyDB by default). Unset, a
  local run takes keydb-server when it is installed, else redis-server: KeyDB has no
  Debian package, and redis-server is the stand-in the suites have always used.
- MAIL_CATCHER=mailhog|mailpit, the SMTP catcher of the dev stack (MailHog by default).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.mailbox import Mailbox
from devstack.mailhog import MailHogClient, MailHogServer, mailhog_binary
from devstack.mailpit import MailpitClient, MailpitServer, mailpit_binary
from devstack.process import StackError

BROKERS = ("keydb", "valkey", "redis")
MAIL_CATCHERS = ("mailhog", "mailpit")
DEFAULT_CATCHER = "mailhog"
# How each broker's server is installed, for the message when it is missing.
BROKER_INSTALL = {
    "keydb": "KeyDB has no Debian package; compose runs its image (BROKER=keydb)",
    "valkey": "`make bootstrap` installs it from Debian's bookworm-backports",
    "redis": "`make bootstrap` installs it from Debian",
}


def chosen(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    value = environ.get(name, "").strip().lower()
    if value and value not in choices:
        raise StackError(f"{name} must be one of {'|'.join(choices)}, not {value!r}")
    return value or None


def server_binary(broker: str) -> str | None:
    return shutil.which(f"{broker}-server")


def broker_choice(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(flavour, path of its server) for BROKER, or StackError saying how to install it."""
    environ = os.environ if environ is None else environ
    broker = chosen(environ, "BROKER", BROKERS)
    for flavour in [broker] if broker else ["keydb", "redis"]:
        found = server_binary(flavour)
        if found:
            return flavour, found
    if broker:
        how = BROKER_INSTALL[broker]
        raise StackError(f"BROKER={broker}: {broker}-server is not installed ({how}).")
    raise StackError("Neither keydb-server nor redis-server is installed: run `make bootstrap`.")


def catcher_choice(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return chosen(environ, "MAIL_CATCHER", MAIL_CATCHERS) or DEFAULT_CATCHER


@dataclass(frozen=True)
class Missing:
    """Why a flavour cannot run here; None from missing() when it can."""

    what: str
    why: str


def missing(broker: str, catcher: str) -> Missing | None:
    if server_binary(broker) is None:
        return Missing(f"{broker}-server", BROKER_INSTALL[broker])
    try:
        {"mailhog": mailhog_binary, "mailpit": mailpit_binary}[catcher]()
    except StackError as exc:
        return Missing(catcher, str(exc))
    return None


CatcherServer = MailHogServer | MailpitServer


def catcher_server(catcher: str, workdir: Path) -> CatcherServer:
    return MailpitServer(workdir) if catcher == "mailpit" else MailHogServer(workdir)


def mailbox(catcher: str, api_url: str) -> Mailbox:
    """The mailbox client of a catcher already running at `api_url`."""
    return MailpitClient(api_url) if catcher == "mailpit" else MailHogClient(api_url)
