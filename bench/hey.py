"""Closed-loop HTTP load with `hey` (Debian package `hey`, installed by make bootstrap):
a Go client, far cheaper per request than a Python one on two shared cores, that keeps
its connections alive and prints every request's latency (`-o csv`)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from bench.stats import percentile


@dataclass(frozen=True)
class HeyRun:
    seconds: list[float]  # each answered request's latency (sent -> response read)
    statuses: dict[int, int]
    wall_seconds: float  # first request sent -> last response read
    requested: int

    @property
    def throughput(self) -> float:
        return len(self.seconds) / self.wall_seconds if self.wall_seconds else 0.0

    def ms(self, fraction: float) -> float:
        return percentile(self.seconds, fraction) * 1000

    @property
    def ok(self) -> int:
        return sum(count for status, count in self.statuses.items() if 200 <= status < 300)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requested,
            "answered": len(self.seconds),
            "statuses": self.statuses,
            "p50_ms": round(self.ms(0.50), 2),
            "p99_ms": round(self.ms(0.99), 2),
            "throughput_per_s": round(self.throughput, 1),
        }


def hey_binary() -> str:
    found = shutil.which("hey")
    if found is None:
        raise RuntimeError("`hey` is not installed: run `make bootstrap` (apt package hey)")
    return found


def run_hey(
    url: str,
    *,
    requests: int,
    concurrency: int,
    time_limit: float,
    token: str | None = None,
    json_body: dict[str, Any] | None = None,
) -> HeyRun:
    """`requests` requests over `concurrency` keep-alive connections, as fast as they are
    answered; killed (and an error raised) after `time_limit` seconds."""
    argv = [hey_binary(), "-n", str(requests), "-c", str(concurrency), "-t", "10", "-o", "csv"]
    if json_body is not None:
        argv += ["-m", "POST", "-T", "application/json", "-d", json.dumps(json_body)]
    if token is not None:
        argv += ["-H", f"Authorization: Bearer {token}"]
    done = subprocess.run(
        [*argv, url], capture_output=True, text=True, timeout=time_limit, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"hey failed ({done.returncode}): {done.stderr.strip()[:500]}")
    seconds: list[float] = []
    statuses: dict[int, int] = {}
    ends: list[float] = []
    for row in csv.DictReader(io.StringIO(done.stdout)):
        latency = float(row["response-time"])
        seconds.append(latency)
        status = int(row["status-code"])
        statuses[status] = statuses.get(status, 0) + 1
        ends.append(float(row["offset"]) + latency)
    if not seconds:
        raise RuntimeError(f"hey got no answer from {url}: {done.stderr.strip()[:500]}")
    return HeyRun(seconds, statuses, max(ends), requests)
