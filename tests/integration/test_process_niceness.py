"""devstack's lower CPU share for the email path (docs/architecture.md, "Fairness on one
host"): a ManagedProcess started with a niceness runs, children included, at that nice
value, and so does its session's autogroup where the kernel schedules by autogroup."""

from __future__ import annotations

import os
from pathlib import Path

from devstack.process import ManagedProcess, wait_until


def nice_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])  # field 19, after the command name


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_a_niceness_reaches_the_process_its_children_and_its_autogroup(tmp_path: Path) -> None:
    process = ManagedProcess(
        "nice-test", ["sh", "-c", "sleep 60 & wait"], tmp_path / "nice.log", niceness=6
    )
    process.start()
    try:
        assert process.proc is not None
        pid = process.proc.pid
        assert wait_until(lambda: bool(children_of(pid)), 10)
        assert nice_of(pid) == 6
        assert all(nice_of(child) == 6 for child in children_of(pid))
        autogroup = Path(f"/proc/{pid}/autogroup")
        if autogroup.exists():  # e.g. "/autogroup-123 nice 6"
            assert autogroup.read_text().split()[-1] == "6"
    finally:
        process.stop()


def test_without_a_niceness_the_process_keeps_its_parents(tmp_path: Path) -> None:
    process = ManagedProcess("plain-test", ["sleep", "60"], tmp_path / "plain.log")
    process.start()
    try:
        assert process.proc is not None
        assert nice_of(process.proc.pid) == nice_of(os.getpid())
    finally:
        process.stop()
