"""`python -m bench` (`make bench`): every benchmark in sequence, then one summary table.

    .venv/bin/python -m bench [--quick] [--only NAME ...]

Each benchmark starts and stops its own servers, saves bench/results/<name>.json and
can run alone: `python -m bench.<name> --help`. A failing benchmark does not stop the
others; the exit code says whether all of them ran.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Sequence
from types import ModuleType

from bench import add_book, cli, http_stack, memory, stats

BENCHMARKS: dict[str, ModuleType] = {
    module.NAME: module for module in (add_book, http_stack, memory)
}


def run_one(module: ModuleType, quick: bool) -> list[cli.Row]:
    args = cli.parse(
        module.NAME, module.__doc__ or module.NAME, module.OPTIONS, ["--quick"] if quick else []
    )
    began = time.perf_counter()
    figures = module.run(args)
    figures["benchmark_seconds"] = round(time.perf_counter() - began, 1)
    path = stats.save(module.NAME, figures)
    rows: list[cli.Row] = module.summary_rows(figures)
    return [*rows, ("(took, saved to)", f"{figures['benchmark_seconds']} s, {path}")]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="smaller runs of every benchmark")
    parser.add_argument(
        "--only", action="append", choices=sorted(BENCHMARKS), help="run just this one"
    )
    args = parser.parse_args(argv)
    began = time.perf_counter()
    tables: list[tuple[str, list[cli.Row]]] = []
    failed: list[str] = []
    for name in args.only or list(BENCHMARKS):
        print(f"\n>>> {name}{' (quick)' if args.quick else ''}", file=sys.stderr, flush=True)
        try:
            tables.append((name, run_one(BENCHMARKS[name], args.quick)))
        except Exception:  # noqa: BLE001 - report it and go on with the next benchmark
            traceback.print_exc()
            failed.append(name)
    machine = stats.machine()
    print(
        f"\n### Summary: {machine['cpus']} CPUs ({machine['cpu_model']}), "
        f"load {machine['load_average_1m']}, {time.perf_counter() - began:.0f} s in all"
    )
    for name, rows in tables:
        cli.print_table(name, rows)
    if failed:
        print(f"\nFAILED: {', '.join(failed)} (tracebacks above)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
