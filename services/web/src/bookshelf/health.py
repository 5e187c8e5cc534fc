"""Liveness (/healthz: the process answers) and readiness (/readyz: its dependencies do).

Readiness is a list of named checks; the broker check joins the database one by
appending to `READINESS_CHECKS`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from bookshelf.extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


class Check(NamedTuple):
    name: str
    probe: Callable[[], None]  # raises when the dependency is not usable


def database() -> None:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()


def broker() -> None:
    from bookshelf.outbox.producer import ping_broker

    ping_broker()


READINESS_CHECKS: list[Check] = [Check("database", database), Check("broker", broker)]


def run_checks(checks: list[Check]) -> tuple[bool, dict[str, str]]:
    results: dict[str, str] = {}
    for check in checks:
        try:
            check.probe()
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            log.warning("readiness check %s failed: %s", check.name, error)
            results[check.name] = f"error: {type(error).__name__}"
        else:
            results[check.name] = "ok"
    return all(value == "ok" for value in results.values()), results


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    ready, results = run_checks(READINESS_CHECKS)
    return jsonify(status="ok" if ready else "unavailable", checks=results), (200 if ready else 503)
