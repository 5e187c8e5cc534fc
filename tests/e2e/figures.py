"""Figures the e2e suite measures, printed in pytest's summary and saved under bench/results/."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parents[2] / "bench" / "results"
FIGURES: dict[str, Any] = {}


def record(name: str, value: Any) -> None:
    FIGURES[name] = value


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with `fraction` of the values at or below."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(len(ordered) * fraction))
    return ordered[rank - 1]


def save() -> Path | None:
    if not FIGURES:
        return None
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / "e2e.json"
    path.write_text(json.dumps(FIGURES, indent=2, sort_keys=True) + "\n")
    return path
