"""Shared helpers for the static checks of the Docker and Compose files (no engine needed)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
# The virtualenv running the tests (VENV=... in make and bootstrap may move it off .venv).
VENV_BIN = Path(sys.executable).parent
COMPOSE_FILES = {"dev": REPO / "compose.yaml", "prod": REPO / "compose.prod.yaml"}
DOCKERFILES = sorted(REPO.glob("services/*/Dockerfile"))
# `${NAME`, `${NAME:-x}`, `${NAME:?msg}` but not the escaped `$${NAME}`.
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
REQUIRED_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*):\?")
# Services that run once and exit (no healthcheck, waited on with completed_successfully).
ONE_SHOT = {"migrate"}


def load_compose(which: str) -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILES[which].read_text())


def compose_text(which: str) -> str:
    """The file without its comment lines, which Compose does not interpolate."""
    lines = COMPOSE_FILES[which].read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def compose_variables(which: str) -> set[str]:
    return set(COMPOSE_VARIABLE.findall(compose_text(which)))


def required_variables(which: str) -> set[str]:
    return set(REQUIRED_VARIABLE.findall(compose_text(which)))


def env_example_names() -> set[str]:
    names = set()
    for line in (REPO / ".env.example").read_text().splitlines():
        match = re.match(r"([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


def dockerfile_of(service: dict[str, Any]) -> Path | None:
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        return REPO / build / "Dockerfile"
    return REPO / build.get("context", ".") / build.get("dockerfile", "Dockerfile")


def tool(name: str) -> str:
    path = VENV_BIN / name
    if not path.exists():
        pytest.fail(f"{name} is missing from {VENV_BIN}: run `make bootstrap`")
    return str(path)
