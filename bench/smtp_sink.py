"""A slow SMTP server in a process of its own: it answers every message's DATA after
`delay` seconds (a real provider's 200 ms) and appends, per message, when the 250 was
sent and its Message-ID to a file, so emails are counted without loading MailHog.

Its own process, so that it neither competes for the bench's GIL (a busy bench made an
in-process server answer late, past the workers' socket timeout) nor hides its CPU.

    .venv/bin/python -m bench.smtp_sink --port P --delay 0.2 --record FILE
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from aiosmtpd.controller import Controller

from bench.proc_tree import cpu_seconds
from devstack.ports import free_port
from devstack.process import wait_until

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass
class SlowHandler:
    delay: float
    record: IO[str]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        content = envelope.original_content or b""
        found = MESSAGE_ID.search(content.split(b"\r\n\r\n", 1)[0])
        message_id = found.group(1).decode() if found else "-"
        self.record.write(f"{time.time():.6f} {message_id}\n")
        return "250 2.0.0 accepted"


def serve(port: int, delay: float, record_path: Path) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open(record_path, "a", buffering=1) as record:  # a line per message, flushed
        controller = Controller(SlowHandler(delay, record), hostname="127.0.0.1", port=port)
        controller.start()
        record_path.with_suffix(".ready").touch()
        stop.wait()
        controller.stop()


class SlowSMTPServer:
    """`with SlowSMTPServer(0.2, workdir) as smtp:` a child process on a free loopback port."""

    def __init__(self, delay: float, workdir: Path) -> None:
        self.port = free_port()
        self.delay = delay
        workdir.mkdir(parents=True, exist_ok=True)
        self.record_path = workdir / f"smtp-sink-{self.port}.txt"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> SlowSMTPServer:
        argv = [sys.executable, "-m", "bench.smtp_sink", "--port", str(self.port)]
        argv += ["--delay", str(self.delay), "--record", str(self.record_path)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        ready = self.record_path.with_suffix(".ready")
        if not wait_until(lambda: ready.exists() or self.proc.poll() is not None, 30):
            raise RuntimeError("the slow SMTP server did not start within 30 s")
        if self.proc.poll() is not None:
            raise RuntimeError(f"the slow SMTP server exited ({self.proc.returncode})")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def accepted(self) -> list[float]:
        """When each message so far was accepted (time.time())."""
        try:
            text = self.record_path.read_text()
        except FileNotFoundError:
            return []
        complete = text[: text.rfind("\n") + 1]  # not a line being written
        return [float(line.split(" ", 1)[0]) for line in complete.splitlines()]

    def count(self) -> int:
        return len(self.accepted())

    def accepted_between(self, start: float, end: float) -> int:
        return sum(1 for at in self.accepted() if start <= at < end)

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far."""
        return cpu_seconds(self.proc.pid) if self.proc is not None else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.smtp_sink", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, required=True)
    parser.add_argument("--record", type=Path, required=True)
    args = parser.parse_args(argv)
    serve(args.port, args.delay, args.record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
