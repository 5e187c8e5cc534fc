"""Spanish by default; English via Accept-Language or the switch (session and user);
the catalogs list every message of the source and translate each one."""

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from bookshelf.accounts.models import User
from bookshelf.extensions import db
from services.web.tests.support import AuthActions, insert_book


def test_spanish_by_default(client: FlaskClient) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    assert '<html lang="es">' in page
    assert "Iniciar sesión" in page and "Log in" not in page


def test_english_via_accept_language(client: FlaskClient) -> None:
    page = client.get("/auth/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(
        as_text=True
    )
    assert '<html lang="en">' in page and "Log in" in page and "Iniciar sesión" not in page


def test_unsupported_language_falls_back_to_spanish(client: FlaskClient) -> None:
    page = client.get("/auth/login", headers={"Accept-Language": "de, fr;q=0.5"})
    assert "Iniciar sesión" in page.get_data(as_text=True)


def test_switch_beats_accept_language(client: FlaskClient) -> None:
    response = client.post("/locale/en", data={"next": "/auth/register"})
    assert response.status_code == 302 and response.location == "/auth/register"
    page = client.get("/auth/register", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Create your account" in page
    client.post("/locale/es")
    page = client.get("/auth/register", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Crea tu cuenta" in page


def test_switch_is_stored_on_the_user(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    account = auth.new_user(locale="es")
    client.post("/locale/en", data={"next": "https://evil.example/"})
    with app.app_context():
        assert db.session.get(User, account.id).locale == "en"
    # A new session for the same user (no session choice) follows the stored preference.
    fresh = app.test_client()
    auth.on(app, fresh).login_as(account)
    page = fresh.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "My books" in page


def test_unknown_locale_is_404(client: FlaskClient) -> None:
    assert client.post("/locale/fr").status_code == 404


def test_plural_forms(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    account = auth.new_user()
    insert_book(app, account.id, title="Solo", author="A")
    assert "1 libro" in client.get("/").get_data(as_text=True)
    client.post("/locale/en")
    assert "1 book" in client.get("/").get_data(as_text=True)


def test_switch_returns_to_the_page_or_home_after_a_post(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.new_user()
    page = client.get("/?page=2").get_data(as_text=True)
    assert 'name="next" value="/?page=2"' in page
    after_post = client.post("/auth/account").get_data(as_text=True)
    assert 'name="next" value=""' in after_post  # a page answering a POST it refused (405)


# --- The catalogs: complete, and what the app loads --------------------------------

WEB = Path(__file__).resolve().parents[1]
TRANSLATIONS = WEB / "src/bookshelf/translations"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}  # as the README extracts
REFRESH = (
    "refresh them as services/web/README.md says (pybabel extract, update, then "
    "translate and compile)"
)
MessageId = str | tuple[str, ...]  # a plural message is (singular, plural)


def as_key(value: str | list[str] | tuple[str, ...] | None) -> MessageId:
    if value is None:
        return ""
    return value if isinstance(value, str) else tuple(value)


def source_msgids() -> set[MessageId]:
    """Every message the code and templates mark, extracted as babel.cfg says."""
    with (WEB / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = extract_from_dir(WEB, method_map, options_map, keywords=KEYWORDS)
    return {as_key(message) for _file, _line, message, _comments, _context in found}


def load(path: Path, locale: str | None = None) -> dict[MessageId, MessageId]:
    """msgid -> msgstr of a .pot, .po or .mo file."""
    with path.open("rb") as file:
        catalog = read_mo(file) if path.suffix == ".mo" else read_po(file, locale=locale)
    assert not [m.id for m in catalog if m.fuzzy and m.id], f"{path.name} has fuzzy entries"
    return {as_key(m.id): as_key(m.string) for m in catalog if m.id}


def test_the_template_lists_every_message_in_the_source() -> None:
    template = set(load(TRANSLATIONS / "messages.pot"))
    source = source_msgids()
    assert not source - template, f"messages.pot misses messages: {REFRESH}"
    assert not template - source, f"messages.pot has unused messages: {REFRESH}"


@pytest.mark.parametrize("locale", ["es", "en"])
def test_each_catalog_translates_every_message(locale: str) -> None:
    template = set(load(TRANSLATIONS / "messages.pot"))
    catalog = load(TRANSLATIONS / locale / "LC_MESSAGES/messages.po", locale)
    assert set(catalog) == template, f"{locale} is not up to date: {REFRESH}"
    untranslated = [
        msgid
        for msgid, msgstr in catalog.items()
        if not all(msgstr if isinstance(msgstr, tuple) else [msgstr])
    ]
    assert untranslated == [], f"{locale}: untranslated messages"


@pytest.mark.parametrize("locale", ["es", "en"])
def test_the_compiled_catalog_is_the_current_one(locale: str) -> None:
    """The .mo files are built (scripts/bootstrap.sh, `pybabel compile`), not committed:
    a stale one would make the pages disagree with the .po under review."""
    folder = TRANSLATIONS / locale / "LC_MESSAGES"
    compiled = load(folder / "messages.mo")
    assert compiled == load(folder / "messages.po", locale), (
        f"run: pybabel compile -d {TRANSLATIONS.relative_to(WEB)} (cwd services/web)"
    )
