"""The one request body allowed past MAX_CONTENT_LENGTH: an import's CSV file.

Flask checks the limit when the body is first read, which for a form is CSRFProtect's
check, before any view runs: so the limit is the request's own (nginx allows the same
size on these paths only, services/nginx/nginx.conf.template).
"""

from __future__ import annotations

from typing import Final

from flask import Request

IMPORT_MAX_BYTES: Final = 5 * 1024 * 1024
IMPORT_PATHS: Final = frozenset({"/import", "/api/v1/imports"})


class BookshelfRequest(Request):
    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and self.method == "POST" and self.path in IMPORT_PATHS:
            return IMPORT_MAX_BYTES
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value
