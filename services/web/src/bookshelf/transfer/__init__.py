"""Import and export: a user's library out as CSV or JSON, and in from a CSV.

export.py (the files out), csv_formats.py (our CSV and Goodreads' read into rows),
import_rows.py (each row checked by the book rules; the report), jobs.py (ImportJob,
written by the upload and run by the worker), pages.py and api.py. Why an import is
all or nothing and sends one summary: docs/architecture.md, "Import jobs".
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from bookshelf.transfer import pages
    from bookshelf.transfer.uploads import BookshelfRequest

    app.request_class = BookshelfRequest
    app.register_blueprint(pages.bp)
