"""The message encoding's two shortcuts (bookshelf_worker.mail.BookshelfMessage) change
no byte of what compat32 would write: short ASCII headers written as they are, and
multipart boundaries set before generation."""

from __future__ import annotations

import random
import string
from email import message_from_bytes, policy

import pytest
from flask import Flask

from bookshelf_worker.mail import SMTP_COMPAT32, build_message
from bookshelf_worker.rendering import render_email
from services.worker.tests.support import MakeEvent

COMPAT32_CRLF = policy.compat32.clone(linesep="\r\n")


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Rayuela", "Ana Núñez"),
        ("Cien años de ñandúes 📚 <b>tags</b> & “comillas”", "Zoë O'Brien-Smith, PhD"),
        ("plain ASCII title that is long enough to be folded over more than one line " * 3, "A"),
        ("x" * 60, 'Name; with, "quotes" and (comments)'),
    ],
)
def test_the_shortcuts_write_what_compat32_writes(
    worker_app: Flask, make_event: MakeEvent, title: str, name: str
) -> None:
    event = make_event(title=title, user_name=name)
    with worker_app.app_context():
        message = build_message(event, render_email(event))
        message.sender = worker_app.config["MAIL_DEFAULT_SENDER"]
        mime = message._message()
    assert mime.as_bytes(policy=SMTP_COMPAT32) == mime.as_bytes(policy=COMPAT32_CRLF)
    boundaries = [part.get_boundary() for part in mime.walk() if part.is_multipart()]
    assert len(boundaries) == 2 and all(b and b.startswith("=_") for b in boundaries)
    parsed = message_from_bytes(mime.as_bytes(policy=SMTP_COMPAT32), policy=policy.default)
    assert title.strip() in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_short_ascii_headers_fold_as_compat32_does() -> None:
    rng = random.Random(10)
    alphabet = string.ascii_letters + string.digits + " \t;,.<>@=?\"'()-_:/"
    for _ in range(5000):
        name = rng.choice(["Content-Type", "To", "From", "Date", "Message-ID", "X"])
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 90)))
        fast = SMTP_COMPAT32._fold(name, value, sanitize=True)
        assert fast == COMPAT32_CRLF._fold(name, value, sanitize=True), (name, value)  # type: ignore[attr-defined]
