"""Export (pages and API), the upload that writes an import job, and its report.

The job's run is the worker's (services/worker/tests/test_importing.py); here the web
writes it, shows it, and refuses a bad file whole."""

import csv
import io
import json

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bookshelf.extensions import db
from bookshelf.transfer.jobs import ImportJob
from services.web.tests.support import (
    AuthActions,
    assert_error_shape,
    bearer,
    insert_book,
    spec_validator,
)

GOOD_CSV = b"title,author,isbn,year\nDune,Frank Herbert,9780441172719,1965\n,Nobody,,\n"


def jobs_of(app: Flask, owner_id: int) -> list[ImportJob]:
    with app.app_context():
        query = select(ImportJob).where(ImportJob.owner_id == owner_id)
        return list(db.session.scalars(query))


def test_export_csv_and_json_hold_only_my_books(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    other = auth.create_user("Otro")
    insert_book(app, other.id, "Secret", "Someone")
    me = auth.new_user()
    insert_book(app, me.id, "=SUM(A1)", "Frank Herbert")
    insert_book(app, me.id, "Dune", "Frank Herbert")
    response = client.get("/books/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["title"] for row in rows] == ["'=SUM(A1)", "Dune"]
    body = json.loads(client.get("/books/export.json").get_data(as_text=True))
    assert sorted(book["title"] for book in body["books"]) == ["=SUM(A1)", "Dune"]
    spec_validator("LibraryExport").validate(body)


def test_export_then_import_reads_back_the_same_rows(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.new_user()
    insert_book(app, me.id, "-dash", "Ana")
    exported = client.get("/books/export.csv").data
    response = client.post("/import", data={"file": (io.BytesIO(exported), "mine.csv")})
    assert response.status_code == 303
    [job] = jobs_of(app, me.id)
    assert [row["title"] for row in job.rows] == ["-dash"]


def test_upload_writes_one_job_and_shows_its_progress(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.new_user()
    response = client.post("/import", data={"file": (io.BytesIO(GOOD_CSV), "books.csv")})
    assert response.status_code == 303
    [job] = jobs_of(app, me.id)
    assert (job.status, job.total_rows, len(job.rows), job.filename) == (
        "queued",
        2,
        1,
        "books.csv",
    )
    assert job.refused[0]["row"] == 3
    assert response.location == f"/import/{job.id}"
    page = client.get(response.location).get_data(as_text=True)
    assert "<progress" in page and f"/api/v1/imports/{job.id}" in page
    assert "import_progress.js" in page
    # No book is written by the web: the worker imports them all or none.
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportJob)) >= 1


def test_a_file_refused_whole_stores_nothing(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.new_user()
    response = client.post("/import", data={"file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")})
    assert response.status_code == 422
    assert "title y author" in response.get_data(as_text=True)
    assert jobs_of(app, me.id) == []
    missing = client.post("/import", data={})
    assert missing.status_code == 422


def test_another_users_job_is_404(app: Flask, client: FlaskClient, auth: AuthActions) -> None:
    me = auth.new_user()
    client.post("/import", data={"file": (io.BytesIO(GOOD_CSV), "books.csv")})
    [job] = jobs_of(app, me.id)
    assert client.get(f"/import/{job.id}").status_code == 200
    auth.new_user("Otro")
    assert client.get(f"/import/{job.id}").status_code == 404
    assert client.get("/import/not-a-uuid").status_code == 404


def test_api_import_text_csv_then_follow_the_job(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.create_user()
    token = auth.api_token(me)
    response = client.post(
        "/api/v1/imports?filename=mine.csv",
        data=GOOD_CSV,
        headers={**bearer(token), "Content-Type": "text/csv"},
    )
    assert response.status_code == 202
    body = response.get_json()
    spec_validator("ImportJob").validate(body)
    assert (body["status"], body["filename"], body["total_rows"]) == ("queued", "mine.csv", 2)
    followed = client.get(response.headers["Location"], headers=bearer(token))
    assert followed.status_code == 200 and followed.get_json()["id"] == body["id"]
    stranger = auth.api_token(auth.create_user())
    assert_error_shape(client.get(response.headers["Location"], headers=bearer(stranger)), 404)


def test_api_refuses_a_bad_file_and_a_bad_type(client: FlaskClient, auth: AuthActions) -> None:
    token = auth.api_token(auth.create_user())
    headers = {**bearer(token), "Content-Type": "text/csv"}
    bad = client.post("/api/v1/imports", data=b"\xff\xfe", headers=headers)
    assert "UTF-8" in assert_error_shape(bad, 422)["error"]
    wrong = client.post("/api/v1/imports", json={"title": "x"}, headers=bearer(token))
    assert_error_shape(wrong, 415)
    export = client.get("/api/v1/export?format=xml", headers=bearer(token))
    assert_error_shape(export, 422)


def test_import_takes_a_body_over_the_general_limit_but_not_over_its_own(
    client: FlaskClient, auth: AuthActions
) -> None:
    token = auth.api_token(auth.create_user())
    headers = {**bearer(token), "Content-Type": "text/csv"}
    row = b"A title long enough to fill the file quickly,Some Author,,\n"
    big = b"title,author,isbn,year\n" + row * (2 * 1024 * 1024 // len(row))  # 2 MiB, 35k rows
    too_many = client.post("/api/v1/imports", data=big, headers=headers)
    assert "más de" in assert_error_shape(too_many, 422)["error"]  # read, then refused
    huge = b"title,author\n" + b"x" * (6 * 1024 * 1024)
    assert client.post("/api/v1/imports", data=huge, headers=headers).status_code == 413
    json_headers = {**bearer(token), "Content-Type": "application/json"}
    other = client.post("/api/v1/books", data=b"x" * (2 * 1024 * 1024), headers=json_headers)
    assert other.status_code == 413


def test_a_goodreads_export_becomes_a_job_of_its_rows(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    me = auth.create_user()
    token = auth.api_token(me)
    data = (
        b"Book Id,Title,Author,ISBN,ISBN13,Year Published,Original Publication Year,"
        b"My Review,Private Notes\n"
        b'1,Dune,Frank Herbert,="0441172717",="9780441172719",1990,1965,"Great<br/>read",\n'
        b'2,Bad ISBN,Someone,="123",="",,,,\n'
    )
    response = client.post(
        "/api/v1/imports", data=data, headers={**bearer(token), "Content-Type": "text/csv"}
    )
    assert response.status_code == 202 and response.get_json()["format"] == "goodreads"
    [job] = jobs_of(app, me.id)
    assert job.rows == [
        {"row": 2, "title": "Dune", "author": "Frank Herbert", "isbn": "9780441172719",
         "year": 1990, "notes": "Great\nread"},
    ]  # fmt: skip
    assert [entry["row"] for entry in job.refused] == [3]
