"""P2's yardstick: the tutorial way to email from Flask, a synchronous Flask-Mail send
inside the request. It takes the same JSON as POST /api/v1/books and answers 201 only
once the SMTP server has accepted the message. No database: its latency is the send.

    gunicorn -c services/web/gunicorn.conf.py 'bench.sync_mail_app:create_app()'

Reads BENCH_SMTP_PORT (the bench's slow SMTP server on 127.0.0.1).
"""

from __future__ import annotations

import os

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from flask_mail import Mail, Message

mail = Mail()


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=int(os.environ["BENCH_SMTP_PORT"]),
        MAIL_DEFAULT_SENDER="Bookshelf <no-reply@bookshelf.localhost>",
    )
    mail.init_app(app)

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return "ok"

    @app.post("/api/v1/books")
    def add_book() -> ResponseReturnValue:
        book = request.get_json()
        message = Message(
            subject=f"Libro añadido: {book['title']}",
            recipients=["reader@example.com"],
            body=f"{book['title']} de {book['author']} está en tu biblioteca.",
            html=f"<p><b>{book['title']}</b> de {book['author']} está en tu biblioteca.</p>",
        )
        mail.send(message)
        return jsonify(book), 201

    return app
