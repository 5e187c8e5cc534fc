"""The Redis-protocol broker: the BROKER flavour's server (devstack.flavours).

It runs the image's own services/keydb/keydb.conf, rendered for a local run the way
devstack renders nginx's template: the file as services/keydb/render-conf.sh makes it for
the flavour (the image's build runs the same script), with only `bind`, `port`, `dir` and
`logfile` replaced and `requirepass` set from a password made for this server. So the
local broker keeps its queue in the append-only file (fsynced every second), never
evicts, and wants AUTH, as the container does; a broker killed and started again on
the same dir comes back with its data.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path

from devstack.flavours import broker_choice
from devstack.ports import free_port
from devstack.process import ManagedProcess, ProcessServer, StackError

REPO = Path(__file__).resolve().parent.parent
KEYDB_CONF = REPO / "services" / "keydb" / "keydb.conf"
RENDER_FLAVOUR = REPO / "services" / "keydb" / "render-conf.sh"
# What a local run sets; each replaces the file's own line, or is added when it has none.
LOCAL_DIRECTIVES = ("bind", "port", "dir", "logfile", "requirepass")


def broker_binary() -> str:
    """The server of the BROKER flavour (keydb-server, else redis-server, when unset)."""
    return broker_choice()[1]


def flavour_config(flavour: str, template: str) -> str:
    """`template` as render-conf.sh makes it for `flavour` (keydb, valkey or redis)."""
    done = subprocess.run(
        ["bash", str(RENDER_FLAVOUR), flavour],
        input=template,
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    if done.returncode != 0:
        raise StackError(f"{RENDER_FLAVOUR.name} {flavour}: {done.stderr.strip()}")
    return done.stdout


def quoted(value: str) -> str:
    """A config-file argument as Redis's parser (sdssplitargs) reads it back."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(values: Mapping[str, str], flavour: str, template: str | None = None) -> str:
    """keydb.conf for `flavour` (keydb, valkey or redis) with the LOCAL_DIRECTIVES set to
    `values` (already quoted as needed)."""
    if set(values) != set(LOCAL_DIRECTIVES):
        raise StackError(f"keydb.conf needs exactly {LOCAL_DIRECTIVES}, got {sorted(values)}")
    text = flavour_config(flavour, KEYDB_CONF.read_text() if template is None else template)
    lines = [
        f"# Rendered by devstack from {KEYDB_CONF.relative_to(REPO)} for {flavour}: "
        f"{', '.join(LOCAL_DIRECTIVES)} set for a local run."
    ]
    unset = list(LOCAL_DIRECTIVES)
    for line in text.splitlines():
        words = line.split(maxsplit=1)
        directive = words[0].lower() if words and not words[0].startswith("#") else ""
        if directive in LOCAL_DIRECTIVES:
            if directive in unset:  # a repeated line: the first one stands for all
                lines.append(f"{directive} {values[directive]}")
                unset.remove(directive)
        else:
            lines.append(line)
    lines += [f"{directive} {values[directive]}" for directive in unset]
    return "\n".join(lines) + "\n"


def ping(host: str, port: int, password: str | None = None) -> bool:
    """PING answered with PONG, after AUTH when the server has a password."""
    with socket.create_connection((host, port), timeout=0.5) as sock:
        replies = sock.makefile("rb")
        if password is not None:
            sock.sendall(f"AUTH {password}\r\n".encode())
            if not replies.readline().startswith(b"+OK"):
                return False
        sock.sendall(b"PING\r\n")
        return replies.readline().startswith(b"+PONG")


class BrokerServer(ProcessServer):
    """The broker on `port` (a free one by default), its data and config in `workdir`.

    Port and password are fixed at construction, so `url` stays the same across a stop
    and a start (or a supervisor's restart) and the clients reconnect on their own.
    """

    def __init__(self, workdir: Path, port: int | None = None, password: str | None = None) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.password = password or secrets.token_hex(16)
        self.flavour, binary = broker_choice()
        self.config_path = workdir / "keydb.conf"
        log_path = workdir / "broker.log"
        self.values = {
            "bind": "127.0.0.1",
            "port": str(self.port),
            "dir": quoted(str(workdir.resolve())),
            "logfile": quoted(str(log_path.resolve())),
            "requirepass": self.password,
        }
        # The server appends to its logfile and its stdout (early errors) to the same file.
        self.process = ManagedProcess(
            f"{self.flavour}-server", [binary, str(self.config_path)], log_path
        )

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def write_config(self) -> Path:
        """The rendered keydb.conf, readable by its owner only (it holds the password)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.touch(mode=0o600)
        self.config_path.chmod(0o600)
        self.config_path.write_text(render_config(self.values, self.flavour))
        return self.config_path

    def prepare(self) -> None:
        self.write_config()

    def ready(self) -> bool:
        return ping("127.0.0.1", self.port, self.password)
