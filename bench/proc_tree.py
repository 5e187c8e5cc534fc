"""Memory and CPU time of process trees, read from /proc (Linux only; no psutil needed).

RSS counts every page a process maps, so summing it over forked workers counts
their shared copy-on-write pages once per process. PSS divides each shared page
among its sharers: summed over a tree, it is that tree's share of the RAM.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def parent_of(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after the last ")".
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants(root: int) -> list[int]:
    """`root` and every process below it, from one pass over /proc."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            parent = parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def kib_field(path: Path, name: str) -> int:
    """A `Name:   1234 kB` line of /proc/<pid>/status or smaps_rollup; 0 if gone."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass(frozen=True)
class TreeMemory:
    processes: int
    rss_kib: int
    pss_kib: int

    def as_mib(self) -> dict[str, float | int]:
        return {
            "processes": self.processes,
            "rss_mib": round(self.rss_kib / 1024, 1),
            "pss_mib": round(self.pss_kib / 1024, 1),
        }


def tree_memory(root: int) -> TreeMemory:
    pids = [pid for pid in descendants(root) if (PROC / str(pid)).exists()]
    return TreeMemory(
        processes=len(pids),
        rss_kib=sum(kib_field(PROC / str(pid) / "status", "VmRSS") for pid in pids),
        pss_kib=sum(kib_field(PROC / str(pid) / "smaps_rollup", "Pss") for pid in pids),
    )


def cpu_seconds(root: int) -> float:
    """User + system CPU time of `root`'s tree so far, including the children its
    members have already reaped (utime, stime, cutime, cstime): a Postgres backend or a
    pool process that exited still counts. Compare two readings of the same tree."""
    ticks = 0
    for pid in descendants(root):
        try:
            stat = (PROC / str(pid) / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        ticks += sum(int(value) for value in fields[11:15])  # fields 14-17 of proc(5)
    return ticks / TICKS_PER_SECOND
