"""/api/v1/books: a user's books as JSON, with the same rules as the pages
(book_input.py); each change reports its confirmation email (`notification`)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
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
from bookshelf.library.listing import read_listing
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
    """`q` (search), `sort`, `order`, as the library page reads them; titles and
    authors sort by the request's language."""
    page, per_page = requested_page(current_app.config["BOOKS_PER_PAGE"])
    listing, errors = read_listing(request.args)
    if errors:
        raise ApiError(422, _("Invalid query parameter."), errors)
    found = queries.book_page(api_user().id, page, per_page, listing, str(get_locale()))
    return page_response(found, page, per_page)


def _unknown_fields(body: dict[str, Any]) -> dict[str, str]:
    return {key: _("Unknown field.") for key in body if key not in FIELDS}


@bp.post("/books")
def create_book() -> ResponseReturnValue:
    body = json_object()
    unknown = _unknown_fields(body)
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


@bp.patch("/books/<int:book_id>")
def update_book(book_id: int) -> ResponseReturnValue:
    """The fields sent replace the book's; the others keep their values, and the whole
    book is checked by the same rules as a new one. Its email, if the user asked for one
    on each edit (record.edit_book)."""
    book = _owned_book_or_404(book_id)
    body = json_object()
    unknown = _unknown_fields(body)
    current = {
        "title": book.title,
        "author": book.author,
        "isbn": book.isbn,
        "year": book.year,
        "notes": book.notes,
    }
    data, errors = validate_book({**current, **body})
    if unknown or errors or data is None:
        raise ApiError(422, _("Some fields are not valid."), {**unknown, **errors})
    book, event = record.edit_book(api_user(), book, data)
    return jsonify({**book.to_dict(), "notification": _notification(event)})


@bp.delete("/books/<int:book_id>")
def delete_book(book_id: int) -> ResponseReturnValue:
    book = _owned_book_or_404(book_id)
    event = record.delete_book(api_user(), book)
    return jsonify(deleted=book_id, notification=_notification(event))
