"""/api/v1/books: a user's books as JSON, with the same rules as the pages
(book_input.py); each change reports its confirmation email (`notification`)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from bookshelf.api import (
    api_user,
    bp,
    found_or_404,
    json_object,
    page_response,
    requested_page,
)
from bookshelf.errors import ApiError
from bookshelf.library import queries
from bookshelf.library.book_input import FIELDS, validate_book
from bookshelf.library.models import Book
from bookshelf.outbox import record
from bookshelf.outbox.models import EmailEvent


def _notification(event: EmailEvent | None) -> dict[str, Any] | None:
    """Where the change's email is: 'pending' at this point, published by the relay
    within milliseconds; GET /emails/{event_id} follows it. None when the user's email
    preference is the daily digest or no email."""
    return {"event_id": event.id, "status": event.status} if event else None


def _owned_book_or_404(book_id: int) -> Book:
    return found_or_404(queries.owned_book(api_user().id, book_id), _("No such book."))


@bp.get("/books")
def list_books() -> ResponseReturnValue:
    page, per_page = requested_page(current_app.config["BOOKS_PER_PAGE"])
    return page_response(queries.book_page(api_user().id, page, per_page), page, per_page)


@bp.post("/books")
def create_book() -> ResponseReturnValue:
    body = json_object()
    unknown = {key: _("Unknown field.") for key in body if key not in FIELDS}
    data, errors = validate_book(body)
    if unknown or errors or data is None:
        raise ApiError(422, _("Some fields are not valid."), {**unknown, **errors})
    book, event = record.add_book(api_user(), data)
    response = jsonify({**book.to_dict(), "notification": _notification(event)})
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_book", book_id=book.id)
    return response


@bp.get("/books/<int:book_id>")
def get_book(book_id: int) -> ResponseReturnValue:
    return jsonify(_owned_book_or_404(book_id).to_dict())


@bp.delete("/books/<int:book_id>")
def delete_book(book_id: int) -> ResponseReturnValue:
    book = _owned_book_or_404(book_id)
    event = record.delete_book(api_user(), book)
    return jsonify(deleted=book_id, notification=_notification(event))
