"""The Redis-protocol broker: keydb-server when it is on PATH, else redis-server."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from devstack.ports import free_port
from devstack.process import ManagedProcess, StackError


def broker_binary() -> str:
    for name in ("keydb-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return found
    raise StackError("Neither keydb-server nor redis-server is installed: run `make bootstrap`.")


def ping(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=0.5) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


class BrokerServer:
    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        binary = broker_binary()
        self.flavour = Path(binary).name
        argv = [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(workdir),
            "--logfile",
            "",
        ]
        if self.flavour == "keydb-server":
            argv += ["--server-threads", "2"]
        self.process = ManagedProcess(self.flavour, argv, workdir / "broker.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> BrokerServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process.start()
        self.process.wait_ready(lambda: ping("127.0.0.1", self.port), timeout=15)
        return self

    def stop(self) -> None:
        self.process.stop()
