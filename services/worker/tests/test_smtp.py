"""STARTTLS against a real aiosmtpd server whose certificate is self-signed: the
worker must refuse to talk to it, talk to it once that certificate is trusted, and
keep that verified, logged-in session for the emails that follow."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from celery.result import EagerResult
from flask import Flask

from bookshelf_tasks import BOOK_ADDED, BookEvent
from bookshelf_worker import smtp
from devstack.ports import free_port
from services.worker.tests.support import (
    MakeEvent,
    ScriptedSMTPHandler,
    event_row,
    run_task,
    worker_app_for,
)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 that no CA vouches for."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
    command += " -addext subjectAltName=IP:127.0.0.1"
    subprocess.run(
        [*command.split(), "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def starttls_smtp(self_signed: tuple[Path, Path]) -> Iterator[tuple[ScriptedSMTPHandler, int]]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(*self_signed)
    handler = ScriptedSMTPHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context,
        require_starttls=True,
    )
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def tls_worker_app(starttls_smtp: tuple[ScriptedSMTPHandler, int], outbox_url: str) -> Flask:
    return worker_app_for(starttls_smtp[1], outbox_url, mail_use_tls=True)


def send(app: Flask, event: BookEvent) -> EagerResult:
    return run_task(app, BOOK_ADDED, event.to_dict())


def test_an_untrusted_certificate_is_refused(
    tls_worker_app: Flask,
    starttls_smtp: tuple[ScriptedSMTPHandler, int],
    make_event: MakeEvent,
) -> None:
    event = make_event()
    result = send(tls_worker_app, event)
    assert result.result == "failed"
    row = event_row(tls_worker_app.extensions["delivery_engine"], event.event_id)
    assert row.status == "failed"  # every attempt refused the certificate
    assert row.last_error.startswith("SSLCertVerificationError")
    assert "certificate verify failed" in row.last_error
    assert starttls_smtp[0].data_attempts == 0 and not starttls_smtp[0].delivered


def test_a_trusted_certificate_is_accepted(
    tls_worker_app: Flask,
    starttls_smtp: tuple[ScriptedSMTPHandler, int],
    self_signed: tuple[Path, Path],
    make_event: MakeEvent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trusting = ssl.create_default_context(cafile=str(self_signed[0]))
    monkeypatch.setattr(smtp, "TLS_CONTEXT", trusting)
    result = send(tls_worker_app, make_event())
    assert result.state == "SUCCESS", result.traceback
    assert len(starttls_smtp[0].delivered) == 1


def test_a_verified_and_logged_in_connection_carries_many_emails(
    self_signed: tuple[Path, Path],
    outbox_url: str,
    make_event: MakeEvent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """STARTTLS (verified) and AUTH once; then the same session for every email."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(*self_signed)
    logins: list[str] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        logins.append(data.login.decode())
        return AuthResult(success=data.password == b"s3cret")

    handler, port = ScriptedSMTPHandler(), free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    monkeypatch.setattr(smtp, "TLS_CONTEXT", ssl.create_default_context(cafile=str(self_signed[0])))
    app = worker_app_for(
        port, outbox_url, mail_use_tls=True, mail_username="bookshelf", mail_password="s3cret"
    )
    try:
        results = [send(app, make_event()) for _ in range(3)]
    finally:
        app.extensions["smtp_pool"].close()
        controller.stop()
    assert [r.result for r in results] == ["sent"] * 3
    assert len(handler.delivered) == 3
    assert logins == ["bookshelf"]  # one session: TLS and AUTH kept
    assert app.extensions["smtp_pool"].opened == 1
