"""What every benchmark module shares: options with a full and a --quick default,
a summary table, and `main()` for running the module alone.

A benchmark module defines NAME, OPTIONS, `run(args) -> figures` and
`summary_rows(figures) -> [(figure, value)]`; `python -m bench` runs them in sequence.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench import stats

Figures = dict[str, Any]
Row = tuple[str, str]


@dataclass(frozen=True)
class Option:
    name: str  # the long flag without dashes, e.g. "requests"
    full: float  # default of a normal run
    quick: float  # default with --quick
    help: str

    @property
    def kind(self) -> type:
        return int if isinstance(self.full, int) and isinstance(self.quick, int) else float


def build_parser(name: str, doc: str, options: Sequence[Option]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m bench.{name}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    for option in options:
        parser.add_argument(
            f"--{option.name}",
            type=option.kind,
            default=None,
            help=f"{option.help} (default {option.full}, {option.quick} with --quick)",
        )
    return parser


def parse(
    name: str, doc: str, options: Sequence[Option], argv: Sequence[str] | None
) -> argparse.Namespace:
    args = build_parser(name, doc, options).parse_args(argv)
    for option in options:
        key = option.name.replace("-", "_")
        if getattr(args, key) is None:
            setattr(args, key, option.quick if args.quick else option.full)
    return args


def print_table(title: str, rows: Sequence[Row]) -> None:
    width = max((len(figure) for figure, _ in rows), default=0)
    print(f"\n== {title}")
    for figure, value in rows:
        print(f"  {figure:<{width}}  {value}")


def run_alone(
    name: str,
    doc: str,
    options: Sequence[Option],
    run: Callable[[argparse.Namespace], Figures],
    summary_rows: Callable[[Figures], list[Row]],
    argv: Sequence[str] | None = None,
) -> int:
    """`python -m bench.<name>`: run, print the table, save the JSON."""
    args = parse(name, doc, options, argv)
    figures = run(args)
    print_table(name, summary_rows(figures))
    print(f"\nsaved {stats.save(name, figures)}")
    return 0
