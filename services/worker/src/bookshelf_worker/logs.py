"""LOG_FORMAT=json for the worker: Celery sets up its own handlers (`--loglevel`), so
their formatter is replaced once it has (Celery docs, "Signals", after_setup_logger)."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import after_setup_logger, after_setup_task_logger

from bookshelf_tasks.logs import json_formatter


def use_json(logger: logging.Logger, **_: Any) -> None:
    for handler in logger.handlers:
        handler.setFormatter(json_formatter())


def install(kind: str) -> None:
    """`kind`: LOG_FORMAT as bookshelf_tasks.logs.log_format returns it."""
    if kind == "json":
        after_setup_logger.connect(use_json, weak=False)
        after_setup_task_logger.connect(use_json, weak=False)
