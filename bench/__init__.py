"""Benchmarks that print figures (they are not tests; pytest never collects bench/).

`python -m bench` runs them all; `python -m bench.<name> --help` runs one.
"""
