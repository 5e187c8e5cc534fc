"""Settings from the environment; a missing requirement stops start-up, clearly."""

from pathlib import Path

import pytest

from bookshelf import ConfigError, create_app
from bookshelf.config import ONE_MIB, database_uri, load_settings

ENV = {"SECRET_KEY": "s3cret", "DATABASE_URL": "postgresql://u:p@db:5432/bookshelf"}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no stray .env from the working copy
    for name in (
        "SECRET_KEY",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "SESSION_COOKIE_SECURE",
        "MAX_CONTENT_LENGTH",
        "LOG_LEVEL",
    ):
        # setenv first, so that undo also removes what load_dotenv adds.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    return monkeypatch


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL"])
def test_missing_required_setting_stops_start_up(
    clean_env: pytest.MonkeyPatch, missing: str
) -> None:
    for name, value in ENV.items():
        if name != missing:
            clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=missing):
        create_app()


def test_settings_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("SESSION_COOKIE_SECURE", "true")
    clean_env.setenv("MAX_CONTENT_LENGTH", "2048")
    settings = load_settings()
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://u:p@db:5432/bookshelf"
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["REMEMBER_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["MAX_CONTENT_LENGTH"] == 2048
    assert settings["BABEL_DEFAULT_LOCALE"] == "es"


def test_defaults(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        clean_env.setenv(name, value)
    settings = load_settings()
    assert settings["MAX_CONTENT_LENGTH"] == ONE_MIB
    assert settings["SESSION_COOKIE_SECURE"] is False


def test_dotenv_is_loaded(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SECRET_KEY=from-dotenv\nDATABASE_URL=postgres://x@h/db\n")
    settings = load_settings()
    assert settings["SECRET_KEY"] == "from-dotenv"
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://x@h/db"


def test_malformed_integer_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("MAX_CONTENT_LENGTH", "1MB")
    with pytest.raises(ConfigError, match="MAX_CONTENT_LENGTH must be an integer"):
        load_settings()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("", None),
    ],
)
def test_database_uri(url: str, expected: str | None) -> None:
    assert database_uri(url) == expected


def test_a_malformed_boolean_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    """Strict, as the worker is: "maybe" is neither true nor false."""
    for name, value in ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("SESSION_COOKIE_SECURE", "maybe")
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE must be true or false"):
        load_settings()


def test_limits_come_from_the_environment_and_a_malformed_one_stops_start_up() -> None:
    from bookshelf.config import settings_from_env

    settings = settings_from_env({"EMAIL_BURST": "5", "API_RATE_LIMIT": "10 per second"})
    assert (settings["EMAIL_BURST"], settings["API_RATE_LIMIT"]) == (5, "10 per second")
    assert settings_from_env({})["EMAIL_DAILY_LIMIT"] == "300 per day"
    with pytest.raises(ConfigError, match="API_RATE_LIMIT"):
        settings_from_env({"API_RATE_LIMIT": "lots"})
