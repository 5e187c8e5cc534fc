"""Import and export through the whole stack: 5,000 rows by the API as a background
job (all or nothing, duplicates refused, no email per book), and the browser's upload
with its progress bar, the report, export and preferences at 1280 and 375 px."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from bookshelf_worker.importing import IMPORT_LOCK_CLASS
from devstack.bookshelf_client import Account, BookshelfUser
from devstack.mailbox import Mailbox
from devstack.process import wait_until
from devstack.stack import LocalStack
from tests.e2e.browser import REPO, WIDTHS
from tests.e2e.browsing import page_overflow, screenshot
from tests.e2e.imports import isbn13, library_csv
from tests.e2e.support import StackUrls

JOB_DEADLINE_S = 180.0


def wait_for_job(http: requests.Session, url: str) -> dict[str, object]:
    deadline = time.monotonic() + JOB_DEADLINE_S
    while True:
        job: dict[str, object] = http.get(url, timeout=10).json()
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.5)


def test_api_imports_5000_rows_once_with_a_report(stack: StackUrls, mailhog: Mailbox) -> None:
    reader = BookshelfUser(stack.base_url, Account.new("import5k"))
    reader.register(mailhog)  # verified, and its verification email deleted
    api = reader.api(reader.api_token())
    assert api.add_book(title="Ya la tengo", author="Yo", isbn=isbn13(7)).status_code == 201
    data = library_csv(valid=4980, invalid=10, repeated=10)
    created = api.http.post(
        f"{stack.base_url}/api/v1/imports?filename=5k.csv",
        data=data,
        headers={"Content-Type": "text/csv"},
        timeout=30,
    )
    assert created.status_code == 202, created.text[:500]
    job = wait_for_job(api.http, stack.base_url + created.headers["Location"])
    assert job["status"] == "done", job
    assert job["total_rows"] == 5000
    assert job["imported"] == 4979  # 4,980 new ISBNs, one already in the library
    refused = job["refused"]
    assert isinstance(refused, list) and len(refused) == 21
    listed = api.http.get(f"{stack.base_url}/api/v1/books?per_page=1", timeout=10).json()
    assert listed["total"] == 4980
    exported = api.http.get(f"{stack.base_url}/api/v1/export?format=csv", timeout=60)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 4980 and len({row["isbn"] for row in rows}) == 4980
    # The one add by hand has its email, the import one summary; the 4,979 imported
    # books have none.
    emails = mailhog.wait_for(reader.account.email, 2)
    assert len(emails) == 2
    subjects = sorted(email.subject for email in emails)
    assert subjects == ["Libro añadido: Ya la tengo", "Tu importación a Bookshelf ha terminado"]
    summary = next(e for e in emails if e.subject.startswith("Tu importación"))
    assert "4979 libros importados" in summary.part("text/plain")
    assert "21 filas no importadas" in summary.part("text/plain")


def digest_hook(local: LocalStack, day: str) -> None:
    """The test hook: `flask digest send --day DAY`, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "bookshelf", "digest", "send", "--day", day],
        cwd=REPO / "services" / "web", env=local.env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def digests_done(local: LocalStack) -> int:
    log = local.worker.log_path.read_text(encoding="utf-8", errors="replace")
    # digesting.run_digests logs one line per run, whatever it wrote.
    return sum(" digest day=" in line for line in log.splitlines())


def test_digest_user_gets_one_digest_a_day_and_no_email_per_book(
    stack: StackUrls, local: LocalStack, mailhog: Mailbox
) -> None:
    reader = BookshelfUser(stack.base_url, Account.new("digest"))
    reader.register(mailhog)  # verified, and its verification email deleted
    saved = reader.submit(
        "/auth/account", "email_preference", action_ends="/preferences",
        email_preference="digest", timezone="UTC",
    )  # fmt: skip
    assert saved.ok and "/auth/account" in saved.url
    first = reader.add_book(title="Rayuela", author="Julio Cortázar")
    reader.add_book(title="Ficciones", author="Jorge Luis Borges")
    reader.delete_book(first)
    today = datetime.now(UTC).date().isoformat()
    before = digests_done(local)
    digest_hook(local, today)
    [digest] = mailhog.wait_for(reader.account.email, 1)
    assert digest.subject == "Tu día en Bookshelf"
    body = digest.part("text/plain")
    assert "2 libros añadidos" in body and "1 libro eliminado" in body and "Rayuela" in body
    # Twice more (a beat restart, a second beat): still one digest for the day.
    digest_hook(local, today)
    digest_hook(local, today)
    assert wait_until(lambda: digests_done(local) >= before + 3, 30)
    assert len(mailhog.messages_to(reader.account.email)) == 1
    assert "Resumen diario" in reader.get("/notifications/").text


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        locale="es-ES", timezone_id="America/Bogota", viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def local(stack: StackUrls) -> LocalStack:
    if stack.local is None:
        pytest.skip(f"holds the import's lock in Postgres: local stack only, not {stack.mode}")
    return stack.local


def assert_fits(page: Page) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        assert page_overflow(page) == 0, f"{page.url} is wider than {width} px"


def test_browser_import_progress_report_export_preferences_and_digest(
    stack: StackUrls,
    local: LocalStack,
    page: Page,
    mailhog: Mailbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    account = Account.new("browser-import")
    page.goto(f"{stack.base_url}/auth/register")
    page.fill("input[name=name]", account.name)
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", account.password)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{stack.base_url}/auth/inbox")  # sign-up does not log in
    # The verification link, opened and confirmed in the browser; that email is then
    # removed, so the mailbox below holds the import's summary and the digest only.
    verification, path = BookshelfUser(stack.base_url, account).mailed_link(
        mailhog, "/auth/verify/"
    )
    page.goto(f"{stack.base_url}{path}")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{stack.base_url}/auth/login")
    mailhog.delete(verification)
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", account.password)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{stack.base_url}/")

    page.goto(f"{stack.base_url}/auth/account")
    expect(page.locator("select[name=timezone]")).to_have_value("America/Bogota")  # from Intl
    assert_fits(page)
    page.check("input[name=email_preference][value=digest]")
    page.locator("form[action$='/preferences'] button[type=submit]").click()
    expect(page.locator("input[name=email_preference][value=digest]")).to_be_checked()

    upload = tmp_path_factory.mktemp("upload") / "mis-libros.csv"
    upload.write_bytes(library_csv(valid=300, invalid=2, first=100_000))
    engine = create_engine(local.env["DATABASE_URL"])
    try:
        with engine.connect() as holder:
            owner = holder.execute(
                text("SELECT id FROM users WHERE email = :email"), {"email": account.email}
            ).scalar_one()
            # The worker claims the job, then waits on this lock with 0 rows done.
            holder.execute(
                text("SELECT pg_advisory_lock(:kind, :owner)"),
                {"kind": IMPORT_LOCK_CLASS, "owner": owner},
            )
            page.goto(f"{stack.base_url}/import")
            assert_fits(page)
            page.set_input_files("input[name=file]", str(upload))
            with page.expect_response(lambda r: "/api/v1/imports/" in r.url):
                page.locator("main form[enctype] button[type=submit]").click()
            bar = page.locator("progress#import-progress")
            expect(bar).to_be_visible()
            assert int(bar.get_attribute("value") or "-1") < 100
            assert_fits(page)  # ends at 375 px
            screenshot(page, "import-progress-phone.png")
            holder.execute(
                text("SELECT pg_advisory_unlock(:kind, :owner)"),
                {"kind": IMPORT_LOCK_CLASS, "owner": owner},
            )
    finally:
        engine.dispose()
    # The page polls, then reloads itself for the report.
    expect(page.locator("main .flash-success")).to_contain_text("300 libros importados")
    expect(page.locator("table.report tbody tr")).to_have_count(2)
    assert_fits(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    screenshot(page, "import-report.png")

    page.goto(f"{stack.base_url}/import")
    with page.expect_download() as download:
        page.locator("a[href$='/books/export.csv']").click()
    exported = download.value.path().read_text(encoding="utf-8")
    assert len(list(csv.DictReader(io.StringIO(exported)))) == 300

    # A digest reader's add by hand: no email of its own, then the day's digest.
    page.goto(f"{stack.base_url}/books/new")
    page.fill("input[name=title]", "Pedro Páramo")
    page.fill("input[name=author]", "Juan Rulfo")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".flash-success")).not_to_contain_text("correo")
    digest_hook(local, datetime.now(ZoneInfo("America/Bogota")).date().isoformat())
    emails = mailhog.wait_for(account.email, 2)  # the import's summary and the digest
    assert sorted(email.subject for email in emails) == [
        "Tu día en Bookshelf",
        "Tu importación a Bookshelf ha terminado",
    ]
    page.goto(f"{stack.base_url}/notifications/")
    # (That page's phone layout is the library branch's fix: its width is not checked here.)
    expect(page.locator("main table")).to_contain_text("Resumen diario")
