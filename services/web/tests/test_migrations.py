"""The committed migrations build the schema on an empty Postgres, through the same
command the images run, and match the models."""

import os
import subprocess
import sys
from pathlib import Path

from flask_migrate import check
from sqlalchemy import create_engine, inspect

from bookshelf import create_app
from bookshelf.extensions import db
from devstack.postgres import PostgresServer

WEB = Path(__file__).resolve().parents[1]
FLASK = str(Path(sys.executable).with_name("flask"))


def test_flask_db_upgrade_builds_the_schema_on_an_empty_database(
    postgres: PostgresServer,
) -> None:
    url = postgres.create_database("migration_check")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "migrations",
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
    }
    done = subprocess.run(
        [FLASK, "--app", "bookshelf", "db", "upgrade"],
        cwd=WEB,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        assert {"users", "books", "email_events", "alembic_version"} <= set(
            inspector.get_table_names()
        )
        columns = {c["name"] for c in inspector.get_columns("email_events")}
        assert columns == {
            "id",
            "owner_id",
            "kind",
            "payload",
            "status",
            "attempts",
            "retry_budget_start",
            "publications",
            "due_at",
            "data_sent_at",
            "last_error",
            "created_at",
            "queued_at",
            "delivered_at",
            "request_id",
            "hold_reason",
        }
        foreign_keys = inspector.get_foreign_keys("email_events")
        assert foreign_keys[0]["options"].get("ondelete") == "CASCADE"
        assert any(
            u["column_names"] == ["email"] for u in inspector.get_unique_constraints("users")
        )
    finally:
        engine.dispose()


def test_models_match_the_migrations(database_url: str) -> None:
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "x",
            "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
        }
    )
    with app.app_context():
        check(directory=str(WEB / "migrations"))  # exits non-zero on drift
        db.engine.dispose()
