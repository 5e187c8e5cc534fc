"""The goals table: one row per goal, its value over the repetitions (median, min-max),
the goal, met or missed, the load average before its measurements, and a note with the
figures behind the value (and, for a goal missed, the measurement that shows why)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class GoalRow:
    key: str  # "P1 c=1"
    what: str
    values: Sequence[float]  # one per repetition
    op: str = ""  # "<=", ">=", or "" for a figure without a goal
    target: float | None = None
    unit: str = ""
    loads: Sequence[float] = ()  # 1-min load average before each measurement
    note: str = ""
    total: bool = False  # counts (emails lost): the sum over repetitions, not the median
    limit: str = ""  # shown when the goal is missed: the measurement that shows why

    @property
    def value(self) -> float | None:
        if not self.values:
            return None
        return float(sum(self.values)) if self.total else float(statistics.median(self.values))

    @property
    def met(self) -> bool | None:
        value = self.value
        if value is None or self.target is None:
            return None
        return value <= self.target if self.op == "<=" else value >= self.target

    @property
    def verdict(self) -> str:
        return {None: "", True: "met", False: "MISSED"}[self.met]

    def shown_value(self) -> str:
        if self.value is None:
            return "not measured"
        main = f"{number(self.value)}{self.unit}"
        if self.total:
            return f"{main} (per run {', '.join(number(v) for v in self.values)})"
        if len(self.values) > 1:
            return f"{main} ({number(min(self.values))}-{number(max(self.values))})"
        return main

    def shown_goal(self) -> str:
        if self.target is None:
            return ""
        return f"{'≤' if self.op == '<=' else '≥'} {number(self.target)}{self.unit}"

    def shown_load(self) -> str:
        if not self.loads:
            return ""
        low, high = min(self.loads), max(self.loads)
        return f"{low:.1f}" if round(low, 1) == round(high, 1) else f"{low:.1f}-{high:.1f}"


def number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3f}"


HEADER = ("goal", "what", "value: median (min-max)", "goal", "met?", "load")


def render(rows: Sequence[GoalRow]) -> str:
    """A fixed-width table; each row's note on the line below it."""
    cells = [HEADER] + [
        (r.key, r.what, r.shown_value(), r.shown_goal(), r.verdict, r.shown_load()) for r in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    lines: list[str] = []
    for index, line in enumerate(cells):
        padded = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        lines.append("  ".join(padded).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
            continue
        row = rows[index - 1]
        notes = [row.note] if row.note else []
        if row.limit and row.met is False:
            notes.append(f"limit: {row.limit}")
        lines += [f"{'':{widths[0]}}  └ {note}" for note in notes]
    return "\n".join(lines)
