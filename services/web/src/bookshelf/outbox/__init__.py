"""The email outbox: every confirmation email from the book change to "sent".

record.py writes the row with the change; dispatch.py publishes it; relay.py and
cli.py move on the rows whose due time passed; queries.py, pages.py, api.py and
resend.py show and resend them; producer.py is the web's publish-only Celery app.
For the operator, across users: summary.py and metrics.py (Prometheus),
dead_letters.py, dead_letter_pages.py (/admin/emails) and cli.py's list and retry.
The state machine itself is shared with the worker: bookshelf_tasks.delivery.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from bookshelf.outbox import dead_letter_pages, pages, producer
    from bookshelf.outbox.cli import outbox_cli

    producer.init_app(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(dead_letter_pages.bp)
    app.cli.add_command(outbox_cli)
