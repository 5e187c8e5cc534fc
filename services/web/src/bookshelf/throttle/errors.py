"""Every limit answers 429 with Retry-After: the API's JSON error under /api/, a page
elsewhere, in the visitor's language."""

from __future__ import annotations

import math
import time

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded

from bookshelf.errors import json_error, wants_json
from bookshelf.extensions import limiter
from bookshelf.throttle.email_pace import EmailRateLimited
from bookshelf.throttle.login_brake import LoginLocked


def too_many(message: str, retry_after: int | None) -> ResponseReturnValue:
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    if wants_json():
        return json_error(429, message, headers=headers)
    page = render_template("errors/error.html", status=429, message=message)
    return page, 429, headers


def _wait(seconds: int) -> str:
    if seconds < 60:
        return _("Try again in %(seconds)d seconds.", seconds=seconds)
    return _("Try again in %(minutes)d minutes.", minutes=-(-seconds // 60))


def handle_email_limit(error: EmailRateLimited) -> ResponseReturnValue:
    message = _(
        "Too many book changes in a short time: each one sends an email, and this "
        "account has reached its limit. Nothing was changed."
    )
    return too_many(f"{message} {_wait(error.retry_after)}", error.retry_after)


def handle_login_locked(error: LoginLocked) -> ResponseReturnValue:
    message = _(
        "Too many failed log-ins for this account. If it is yours, you can reset your password."
    )
    return too_many(f"{message} {_wait(error.retry_after)}", error.retry_after)


def handle_rate_limit(error: RateLimitExceeded) -> ResponseReturnValue:
    # Flask-Limiter adds the X-RateLimit-* headers to this response.
    current = limiter.current_limit
    retry_after = max(1, math.ceil(current.reset_at - time.time())) if current else 1
    return too_many(_("Too many requests: slow down and try again shortly."), retry_after)


def register(app: Flask) -> None:
    app.register_error_handler(EmailRateLimited, handle_email_limit)
    app.register_error_handler(LoginLocked, handle_login_locked)
    app.register_error_handler(RateLimitExceeded, handle_rate_limit)
