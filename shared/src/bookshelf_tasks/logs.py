"""How web, worker and relay write their log lines: text (the default) or JSON, one
object per line (`LOG_FORMAT=json`), with the same fields either way."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from pythonjsonlogger.json import JsonFormatter

from bookshelf_tasks.settings_env import ConfigError

LOG_FORMATS: Final = ("text", "json")
# The record attributes every JSON line starts with; any `extra` follows them.
JSON_FIELDS: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_RENAMES: Final = {"asctime": "time", "levelname": "level", "name": "logger"}


def log_format(environ: Mapping[str, str]) -> str:
    """LOG_FORMAT: `text` when unset or empty; ConfigError on anything else but `json`."""
    value = environ.get("LOG_FORMAT", "").strip().lower() or "text"
    if value not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {value!r}")
    return value


class BookshelfJsonFormatter(JsonFormatter):
    """python-json-logger's formatter; the worker's email outcome (`extra={"email":
    {...}}`, bookshelf_worker.sending.log_email) is lifted to top-level keys, so that
    event_id, request_id and outcome are fields a log search can filter on."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        email = log_data.pop("email", None)
        if isinstance(email, Mapping):
            log_data.update(email)


def json_formatter() -> logging.Formatter:
    return BookshelfJsonFormatter(JSON_FIELDS, rename_fields=JSON_RENAMES, timestamp=False)


def formatter(kind: str, text_format: str) -> logging.Formatter:
    """`kind` as log_format() returns it; `text_format` is the service's text layout."""
    return json_formatter() if kind == "json" else logging.Formatter(text_format)


# gunicorn's access-log atoms ("Logging" settings) that become fields of a JSON line.
ACCESS_ATOMS: Final = {
    "h": "remote",
    "m": "method",
    "U": "path",
    "s": "status",
    "B": "bytes",
    "M": "duration_ms",
    "{x-request-id}o": "request_id",  # the response's, as in the text access log
}


class GunicornJsonFormatter(BookshelfJsonFormatter):
    """For gunicorn's own loggers under LOG_FORMAT=json (gunicorn.conf.py): the access
    line's atoms (the record's args, a mapping) become fields."""

    def __init__(self) -> None:
        super().__init__(JSON_FIELDS, rename_fields=JSON_RENAMES, timestamp=False)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        if isinstance(record.args, Mapping):
            for atom, key in ACCESS_ATOMS.items():
                log_data[key] = record.args[atom]
