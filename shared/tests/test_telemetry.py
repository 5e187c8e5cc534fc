"""Log format, metrics address and error tracking: parsed strictly, off by default."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import urllib.request

import pytest
import sentry_sdk
from prometheus_client import CollectorRegistry, Counter

from bookshelf_tasks.error_tracking import init_sentry
from bookshelf_tasks.logs import formatter, log_format
from bookshelf_tasks.metrics_http import metrics_bind, serve_metrics
from bookshelf_tasks.settings_env import ConfigError
from devstack.ports import free_port


@pytest.mark.parametrize(("raw", "kind"), [("", "text"), ("TEXT", "text"), (" json ", "json")])
def test_log_format_spellings(raw: str, kind: str) -> None:
    assert log_format({"LOG_FORMAT": raw}) == kind
    assert log_format({}) == "text"


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ConfigError, match="LOG_FORMAT must be one of text, json"):
        log_format({"LOG_FORMAT": "logfmt"})


def record(message: str, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("bookshelf_worker.email", logging.INFO, __file__, 1, message, (), None)
    made.__dict__.update(extra)
    return made


def test_json_lines_carry_the_request_and_event_ids_as_fields() -> None:
    email = {
        "outcome": "sent",
        "event_id": "e-1",
        "task_id": "t-1",
        "attempt": 1,
        "request_id": "req-12345678",
    }
    line = json.loads(formatter("json", "").format(record("email outcome=sent", email=email)))
    assert line["level"] == "INFO" and line["logger"] == "bookshelf_worker.email"
    assert line["message"] == "email outcome=sent"
    assert line["event_id"] == "e-1" and line["request_id"] == "req-12345678"
    assert "email" not in line and "time" in line


def test_json_lines_keep_the_web_request_id_attribute() -> None:
    line = json.loads(formatter("json", "").format(record("hello", request_id="abc12345")))
    assert line["request_id"] == "abc12345"


def test_text_stays_the_layout_given() -> None:
    text = formatter("text", "%(levelname)s %(name)s %(message)s").format(record("hello"))
    assert text == "INFO bookshelf_worker.email hello"


@pytest.mark.parametrize(
    ("raw", "bind"), [("", None), ("127.0.0.1:9100", ("127.0.0.1", 9100)), ("[::1]:9", ("::1", 9))]
)
def test_metrics_bind(raw: str, bind: tuple[str, int] | None) -> None:
    assert metrics_bind({"METRICS_BIND": raw}) == bind


@pytest.mark.parametrize("raw", ["9100", ":9100", "host:", "host:port", "host:70000"])
def test_a_malformed_metrics_bind_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="METRICS_BIND must be host:port"):
        metrics_bind({"METRICS_BIND": raw})


def test_serve_metrics_answers_on_its_port() -> None:
    registry = CollectorRegistry()
    Counter("bookshelf_test_things", "Things.", registry=registry).inc(3)
    port = free_port()
    serve_metrics(("127.0.0.1", port), registry)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        assert "bookshelf_test_things_total 3.0" in reply.read().decode()


def test_sentry_is_off_without_a_dsn() -> None:
    assert init_sentry({}, [], component="web") is False
    assert init_sentry({"SENTRY_DSN": "  "}, [], component="web") is False
    assert not sentry_sdk.get_client().is_active()


# In a child process: the client and its integrations are process-wide.
CONFIGURED = """
import json, sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from bookshelf_tasks.error_tracking import init_sentry
on = init_sentry({"SENTRY_DSN": "https://key@sentry.invalid/42", "SENTRY_ENVIRONMENT": "staging"},
                 [CeleryIntegration()], component="worker")
client = sentry_sdk.get_client()
print(json.dumps({"on": on, "active": client.is_active(), "dsn": client.dsn,
                  "environment": client.options["environment"],
                  "pii": client.options["send_default_pii"],
                  "traces": client.options["traces_sample_rate"],
                  "celery": client.get_integration(CeleryIntegration) is not None,
                  "tag": sentry_sdk.get_global_scope()._tags.get("component")}))
"""


def test_sentry_is_configured_with_a_dsn() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CONFIGURED], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen == {
        "on": True,
        "active": True,
        "dsn": "https://key@sentry.invalid/42",
        "environment": "staging",
        "pii": False,
        "traces": 0.0,
        "celery": True,
        "tag": "worker",
    }
