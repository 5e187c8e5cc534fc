"""Requests per API token (API_RATE_LIMIT), with Flask-Limiter's X-RateLimit-* headers
and Retry-After; a session-authenticated call counts per user, an anonymous one per
address. The key is read from the request alone: Flask-Limiter checks before the API
authenticates."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, request, session
from flask_limiter.util import get_remote_address

from bookshelf.extensions import limiter


def api_key() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode("utf-8", "surrogatepass")).hexdigest()
    user_id = session.get("_user_id")
    if user_id:
        return f"user:{user_id}"
    return f"address:{get_remote_address()}"


def limit_blueprint(bp: Blueprint) -> None:
    limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=api_key)(bp)
