"""The web app's operations side: request metrics per endpoint, LOG_FORMAT=json with
the request id, and Sentry only when SENTRY_DSN is set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from bookshelf import ConfigError
from services.web.tests.support import MakeApp

WEB = Path(__file__).resolve().parents[1]


def count(endpoint: str, method: str, status: str) -> float:
    labels = {"endpoint": endpoint, "method": method, "status": status}
    return REGISTRY.get_sample_value("bookshelf_http_requests_total", labels) or 0.0


def test_requests_are_counted_by_url_rule_not_by_path(client: FlaskClient) -> None:
    before = count("/books/<int:book_id>", "GET", "302")
    unmatched = count("<unmatched>", "GET", "404")
    client.get("/books/1")
    client.get("/books/2")
    client.get("/no/such/page/8a7b")
    assert count("/books/<int:book_id>", "GET", "302") == before + 2
    assert count("<unmatched>", "GET", "404") == unmatched + 1
    labels = {"endpoint": "/books/<int:book_id>", "method": "GET"}
    assert (
        REGISTRY.get_sample_value("bookshelf_http_request_duration_seconds_count", labels) or 0
    ) >= 2


def test_the_app_serves_no_metrics_route(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 404


def test_a_bad_log_format_stops_start_up(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_FORMAT", "yaml")
    with pytest.raises(ConfigError, match="LOG_FORMAT must be one of text, json"):
        make_app()


def run_app(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`script` after `app = create_app(...)`, in a child process (logging and Sentry
    are process-wide)."""
    prelude = (
        "import json, logging, sentry_sdk\n"
        "from bookshelf import create_app\n"
        "app = create_app({'SECRET_KEY': 'x', 'SQLALCHEMY_DATABASE_URI': "
        "'postgresql+psycopg2://x@127.0.0.1:1/x', 'CELERY_BROKER_URL': 'redis://127.0.0.1:1/0'})\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LOG_", "SENTRY_"))}
    return subprocess.run(
        [sys.executable, "-c", prelude + script],
        env={**clean, **env},
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_json_log_lines_carry_the_request_id() -> None:
    done = run_app(
        "with app.test_request_context(headers={'X-Request-ID': 'abc12345-json'}):\n"
        "    logging.getLogger('bookshelf.check').warning('in a request')\n"
        "logging.getLogger('bookshelf.check').warning('outside')\n",
        LOG_FORMAT="json",
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if "bookshelf.check" in line]
    assert [(line["message"], line["request_id"]) for line in lines] == [
        ("in a request", "abc12345-json"),
        ("outside", "-"),
    ]
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "bookshelf.check"


def test_text_log_lines_stay_the_default() -> None:
    done = run_app("logging.getLogger('bookshelf.check').warning('plain')\n")
    assert done.returncode == 0, done.stderr
    [line] = [line for line in done.stderr.splitlines() if "bookshelf.check" in line]
    assert line.endswith(" WARNING bookshelf.check request_id=- plain")


SENTRY_STATE = (
    "from sentry_sdk.integrations.flask import FlaskIntegration\n"
    "from sentry_sdk.integrations.celery import CeleryIntegration\n"
    "client = sentry_sdk.get_client()\n"
    "print(json.dumps({'active': client.is_active(), 'dsn': client.dsn,\n"
    "    'flask': client.get_integration(FlaskIntegration) is not None,\n"
    "    'celery': client.get_integration(CeleryIntegration) is not None}))\n"
)


def test_sentry_is_off_without_a_dsn() -> None:
    done = run_app(SENTRY_STATE)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "active": False,
        "dsn": None,
        "flask": False,
        "celery": False,
    }


def test_sentry_is_on_with_flask_and_celery_when_a_dsn_is_set() -> None:
    done = run_app(SENTRY_STATE, SENTRY_DSN="https://key@sentry.invalid/7")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "active": True,
        "dsn": "https://key@sentry.invalid/7",
        "flask": True,
        "celery": True,
    }
