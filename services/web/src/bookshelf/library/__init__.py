"""The library: a user's books, as pages and as JSON.

models.py (Book), book_input.py and isbn.py (the field rules, pure functions),
queries.py (owner-filtered reads), forms.py, books.py (the `books` pages), api.py
(/api/v1/books). Each change writes its confirmation email through bookshelf.outbox.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from bookshelf.library import books

    app.register_blueprint(books.bp)
