"""Latency summaries, and the JSON files the benchmarks leave under bench/results/."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with `fraction` of the values at or below it."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * fraction)) - 1]


def latency_ms(seconds: list[float]) -> dict[str, float | int]:
    """n, p50, p90, p99 and max of durations given in seconds, in milliseconds."""
    if not seconds:
        return {"n": 0}
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 0.50), 2),
        "p90": round(percentile(ms, 0.90), 2),
        "p99": round(percentile(ms, 0.99), 2),
        "max": round(max(ms), 2),
    }


def describe(summary: dict[str, Any]) -> str:
    """One line: `p50 4.1 / p90 5.0 / p99 9.3 / max 12.0 ms (n=200)`."""
    if not summary.get("n"):
        return "no samples"
    marks = " / ".join(f"{key} {summary[key]:.1f}" for key in ("p50", "p90", "p99", "max"))
    return f"{marks} ms (n={summary['n']})"


def machine() -> dict[str, Any]:
    """Where the figures were taken: they mean little without it."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def save(name: str, figures: dict[str, Any]) -> Path:
    """Write bench/results/<name>.json (git-ignored) with the machine it ran on."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "benchmark": name,
        "taken_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "figures": figures,
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path
