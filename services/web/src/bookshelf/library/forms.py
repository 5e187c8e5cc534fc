"""The add-book form; the field rules are library/book_input.py's, shared with the API."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from bookshelf.forms import attach_errors
from bookshelf.library.book_input import BookInput, validate_book


class BookForm(FlaskForm):
    title = StringField(_l("Title"))
    author = StringField(_l("Author"))
    isbn = StringField(_l("ISBN"))
    year = StringField(_l("Year"))
    notes = TextAreaField(_l("Notes"))

    cleaned: BookInput | None = None

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        self.cleaned, errors = validate_book(
            {name: self[name].data for name in self._fields}, from_form=True
        )
        attach_errors(self, errors)
        return ok and not errors
