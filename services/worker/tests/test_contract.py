"""Every task name the web app can send is one the worker registers."""

from __future__ import annotations

import importlib

import pytest
from celery import Celery

from bookshelf_tasks.names import EMAIL_QUEUE, JOB_TASK_NAMES, JOBS_QUEUE, TASK_NAMES


@pytest.fixture
def cli_celery_app(monkeypatch: pytest.MonkeyPatch) -> Celery:
    """The app exactly as `celery -A bookshelf_worker.celery_app:celery_app` loads it."""
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/none")
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_DEFAULT_SENDER", "no-reply@bookshelf.test")
    celery: Celery = importlib.import_module("bookshelf_worker.celery_app").celery_app
    return celery


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_shared_task_name_is_registered(cli_celery_app: Celery, name: str) -> None:
    cli_celery_app.loader.import_default_modules()
    assert name in cli_celery_app.tasks
    route = cli_celery_app.amqp.router.route({}, name)
    assert route["queue"].name == EMAIL_QUEUE


@pytest.mark.parametrize("name", JOB_TASK_NAMES)
def test_every_job_task_is_registered_on_the_jobs_queue(cli_celery_app: Celery, name: str) -> None:
    cli_celery_app.loader.import_default_modules()
    assert name in cli_celery_app.tasks
    assert cli_celery_app.amqp.router.route({}, name)["queue"].name == JOBS_QUEUE


def test_worker_registers_no_unknown_bookshelf_tasks(cli_celery_app: Celery) -> None:
    ours = {name for name in cli_celery_app.tasks if name.startswith("bookshelf.")}
    assert ours == set(TASK_NAMES) | set(JOB_TASK_NAMES)


def test_beat_schedules_only_registered_tasks(cli_celery_app: Celery) -> None:
    scheduled = {entry["task"] for entry in cli_celery_app.conf.beat_schedule.values()}
    assert scheduled and scheduled <= set(JOB_TASK_NAMES)


def test_worker_and_web_share_the_serializer(cli_celery_app: Celery) -> None:
    assert cli_celery_app.conf.accept_content == ["json"]
    assert cli_celery_app.conf.task_acks_late is True
