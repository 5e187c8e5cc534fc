"""The library pages: list (search, sort), add, view, edit, delete (with a confirm page
that needs no JS)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.wrappers import Response

from bookshelf.forms import ConfirmForm
from bookshelf.i18n import sentence
from bookshelf.library import queries
from bookshelf.library.forms import BookForm
from bookshelf.library.listing import SORTS, read_listing
from bookshelf.library.models import Book
from bookshelf.outbox.models import EmailEvent
from bookshelf.outbox.record import add_book, delete_book, edit_book
from bookshelf.pagination import past_the_end, requested_page

bp = Blueprint("books", __name__)


@bp.before_request
@login_required
def require_login() -> None:
    """Every page here belongs to the logged-in user."""


def _owned_or_404(book_id: int) -> Book:
    book = queries.owned_book(current_user.id, book_id)
    if book is None:
        abort(404)
    return book


def _with_emails_link(message: str, event: EmailEvent | None) -> Markup | str:
    """`message` (escaped), then a link to the confirmation emails' status page when
    the change has an email of its own (the user's preference)."""
    if event is None:
        return message
    return Markup('{} <a href="{}">{}</a>').format(
        message, url_for("notifications.index"), _("Follow its confirmation email")
    )


@bp.get("/")
def index() -> Response | str:
    listing, _errors = read_listing(request.args)  # an unknown value: its default
    books = queries.book_page(
        current_user.id,
        requested_page(),
        current_app.config["BOOKS_PER_PAGE"],
        listing,
        str(get_locale()),
    )
    last = past_the_end(books)
    if last is not None:
        args: dict[str, Any] = {**listing.args, "page": last}
        return redirect(url_for("books.index", **args))
    return render_template("books/index.html", books=books, listing=listing, sorts=SORTS)


@bp.route("/books/new", methods=["GET", "POST"])
def new() -> Response | tuple[str, int]:
    form = BookForm()
    if form.validate_on_submit() and form.cleaned is not None:
        book, event = add_book(current_user, form.cleaned)
        flash(
            _with_emails_link(
                sentence(_("“%(title)s” was added to your library."), title=book.title), event
            ),
            "success",
        )
        return redirect(url_for("books.detail", book_id=book.id))
    return render_template("books/new.html", form=form), (422 if form.errors else 200)


@bp.get("/books/<int:book_id>")
def detail(book_id: int) -> str:
    return render_template("books/detail.html", book=_owned_or_404(book_id))


@bp.route("/books/<int:book_id>/edit", methods=["GET", "POST"])
def edit(book_id: int) -> Response | tuple[str, int]:
    book = _owned_or_404(book_id)
    form = BookForm(obj=book)
    if form.validate_on_submit() and form.cleaned is not None:
        book, event = edit_book(current_user, book, form.cleaned)
        flash(
            _with_emails_link(sentence(_("“%(title)s” was saved."), title=book.title), event),
            "success",
        )
        return redirect(url_for("books.detail", book_id=book.id))
    return render_template("books/edit.html", form=form, book=book), (422 if form.errors else 200)


@bp.route("/books/<int:book_id>/delete", methods=["GET", "POST"])
def delete(book_id: int) -> Response | str:
    book = _owned_or_404(book_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        title = book.title
        event = delete_book(current_user, book)
        flash(
            _with_emails_link(sentence(_("“%(title)s” was deleted."), title=title), event),
            "success",
        )
        return redirect(url_for("books.index"))
    return render_template("books/confirm_delete.html", book=book, form=form)
