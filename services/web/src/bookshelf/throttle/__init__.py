"""Limits that protect the SMTP account and the users, stored in the broker (KeyDB) so
every gunicorn worker and replica shares them (docs/architecture.md, "Limits").

store.py (Flask-Limiter's storage, failing open), email_pace.py (book emails per account:
paced, then deferred, then refused), login_brake.py (failed log-ins per account),
api_rate.py (requests per API token), errors.py (the 429 page and JSON).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from bookshelf.extensions import limiter
    from bookshelf.throttle import errors

    limiter.init_app(app)
    errors.register(app)
