"""Runs tests once per broker x mail catcher pair installed here, and says which pairs it
skipped and why: `python -m devstack.flavour_runs [--skip-current] PYTEST_ARGS...`.

Each pair runs in its own pytest process with BROKER and MAIL_CATCHER set, so every
fixture that starts a broker or a catcher (devstack) starts that pair's. `--skip-current`
leaves out the pair that the environment already selects (the one `make test`'s main run
used). The table is printed and saved to bench/results/flavours.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from devstack.flavours import BROKERS, MAIL_CATCHERS, broker_choice, catcher_choice, missing
from devstack.gunicorn import REPO
from devstack.process import StackError

RESULTS = REPO / "bench" / "results" / "flavours.json"


@dataclass(frozen=True)
class PairRun:
    broker: str
    catcher: str
    outcome: str  # passed, failed, skipped
    detail: str
    seconds: float | None = None


def current_pair() -> tuple[str, str] | None:
    try:
        return broker_choice()[0], catcher_choice()
    except StackError:
        return None


def run_pair(broker: str, catcher: str, pytest_args: list[str]) -> PairRun:
    env = {
        **os.environ,
        "BROKER": broker,
        "MAIL_CATCHER": catcher,
        "E2E_FIGURES_NAME": f"e2e-{broker}-{catcher}",
    }
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *pytest_args]
    print(f"\n=== BROKER={broker} MAIL_CATCHER={catcher}: {' '.join(pytest_args)}", flush=True)
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=REPO, check=False)
    seconds = round(time.perf_counter() - began, 1)
    outcome = "passed" if done.returncode == 0 else "failed"
    return PairRun(broker, catcher, outcome, f"pytest exit {done.returncode}", seconds)


def table(runs: list[PairRun]) -> str:
    lines = ["broker x catcher     outcome  seconds  detail"]
    for run in runs:
        seconds = "" if run.seconds is None else f"{run.seconds:.0f}"
        pair = f"{run.broker} x {run.catcher}"
        lines.append(f"{pair:<20} {run.outcome:<8} {seconds:>7}  {run.detail}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    skip_current = "--skip-current" in argv
    pytest_args = [arg for arg in argv if arg != "--skip-current"] or ["tests/e2e"]
    current = current_pair() if skip_current else None
    runs = []
    for broker in BROKERS:
        for catcher in MAIL_CATCHERS:
            absent = missing(broker, catcher)
            if absent is not None:
                runs.append(PairRun(broker, catcher, "skipped", f"no {absent.what}: {absent.why}"))
            elif (broker, catcher) == current:
                runs.append(PairRun(broker, catcher, "skipped", "the main run above used it"))
            else:
                runs.append(run_pair(broker, catcher, pytest_args))
    print(f"\nBroker x mail catcher pairs ({' '.join(pytest_args)}):\n{table(runs)}", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps([asdict(run) for run in runs], indent=2) + "\n")
    return 1 if any(run.outcome == "failed" for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
