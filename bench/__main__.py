"""`python -m bench` (`make bench`): the goals table of issue 10, P1-P6 and the
scale-out, with the stack's cold start and memory (bench/goals.py).

    .venv/bin/python -m bench [--quick] [--reps N] ...   # same options as bench.goals

It starts and stops its own servers, saves bench/results/goals.json and exits 1 if a
part of it failed (the table then shows what ran before).
"""

from bench.goals import main

if __name__ == "__main__":
    raise SystemExit(main())
