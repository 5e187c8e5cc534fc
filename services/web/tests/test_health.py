"""/healthz answers without the database; /readyz runs its list of named checks."""

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bookshelf import health
from devstack.ports import free_port
from services.web.tests.support import MakeApp


def dead_database_url() -> str:
    return f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/nothing"


def test_healthz_needs_no_database(make_app: MakeApp) -> None:
    client = make_app(SQLALCHEMY_DATABASE_URI=dead_database_url()).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_reports_each_named_check(client: FlaskClient) -> None:
    response = client.get("/readyz")
    body = response.get_json()
    assert body["checks"]["database"] == "ok"
    assert set(body["checks"]) == {check.name for check in health.READINESS_CHECKS}
    all_ok = all(value == "ok" for value in body["checks"].values())
    assert response.status_code == (200 if all_ok else 503)
    assert body["status"] == ("ok" if all_ok else "unavailable")


def test_readyz_is_ok_when_every_check_passes(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "READINESS_CHECKS", [health.Check("database", health.database)])
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok"}}


def test_readyz_names_the_failing_check(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise ConnectionError("no route")

    checks = [health.Check("database", health.database), health.Check("extra", broken)]
    monkeypatch.setattr(health, "READINESS_CHECKS", checks)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "extra": "error: ConnectionError"}


def test_readyz_fails_when_the_database_is_down(make_app: MakeApp) -> None:
    app: Flask = make_app(SQLALCHEMY_DATABASE_URI=dead_database_url())
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"].startswith("error:")
