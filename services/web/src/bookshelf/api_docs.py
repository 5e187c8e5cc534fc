"""The API reference for people: Swagger UI reading /api/v1/openapi.yaml, served from
the swagger-ui-bundle-v2 package's own files (no CDN, and the page passes the CSP's
`script-src 'self'`: its set-up is static/api-docs.js, not an inline script).

Outside /api/: this is a page, and nginx answers errors under /api/ as JSON.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("api_docs", __name__, url_prefix="/docs/api")
# Swagger UI's files carry no version in their names; the package's version changes
# only with a deploy, and a day is short enough for that.
ASSET_MAX_AGE_S = 24 * 3600


@bp.get("/")
def index() -> str:
    return render_template("api_docs.html")


@bp.get("/assets/<path:filename>")
def asset(filename: str) -> Response:
    return send_from_directory(swagger_ui_path, filename, max_age=ASSET_MAX_AGE_S)
