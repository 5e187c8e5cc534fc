"""The API blueprint itself: token and session auth, the JSON body, error shapes in
both languages, and openapi.yaml matching the routes every feature adds."""

import re

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from services.web.tests.support import AuthActions, MakeApp, assert_error_shape, bearer

BOOK = {"title": "Dune", "author": "Frank Herbert", "isbn": "0-441-17271-7", "year": 1965}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer bks_not-a-real-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
    ids=["missing", "invalid", "empty", "wrong-scheme", "huge"],
)
def test_bad_or_missing_credentials_are_401(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.get("/api/v1/books", headers=headers)
    assert_error_shape(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_session_auth_works_for_the_browser(client: FlaskClient, auth: AuthActions) -> None:
    auth.new_user()
    assert client.post("/api/v1/books", json=BOOK).status_code == 201
    assert client.get("/api/v1/books").get_json()["total"] == 1


def test_malformed_json_is_400(client: FlaskClient, token: str) -> None:
    response = client.post(
        "/api/v1/books", data='{"title": ', content_type="application/json", headers=bearer(token)
    )
    assert_error_shape(response, 400)


@pytest.mark.parametrize("body", ["[]", '"text"', "null", "3"])
def test_json_that_is_not_an_object_is_422(client: FlaskClient, token: str, body: str) -> None:
    response = client.post(
        "/api/v1/books", data=body, content_type="application/json", headers=bearer(token)
    )
    assert_error_shape(response, 422)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(
    client: FlaskClient, token: str, content_type: str | None
) -> None:
    response = client.post(
        "/api/v1/books", data="title=Dune", content_type=content_type, headers=bearer(token)
    )
    assert_error_shape(response, 415)


def test_too_large_is_413(make_app: MakeApp, auth: AuthActions) -> None:
    app = make_app(MAX_CONTENT_LENGTH=1024)
    token = auth.api_token(auth.create_user())
    body = assert_error_shape(
        app.test_client().post(
            "/api/v1/books",
            json={"title": "x", "author": "y", "notes": "n" * 2000},
            headers=bearer(token),
        ),
        413,
    )
    assert "1024 B" in body["error"]


def test_unknown_route_and_method_are_json(client: FlaskClient, token: str) -> None:
    assert_error_shape(client.get("/api/v1/nothing-here", headers=bearer(token)), 404)
    assert_error_shape(client.get("/api/v1/books/abc", headers=bearer(token)), 404)
    response = client.put("/api/v1/books", json=BOOK, headers=bearer(token))
    assert_error_shape(response, 405)
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "TRACE", "DELETE", "POST"])
def test_every_405_under_the_api_is_json_with_allow(
    app: Flask, client: FlaskClient, token: str, method: str
) -> None:
    """Each route, with a method it does not take: the JSON error, and `Allow` listing
    exactly the methods it does take (RFC 9110 15.5.6). nginx hands TRACE to the app
    for this answer."""
    allowed: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            allowed.setdefault(rule.rule, set()).update(rule.methods or ())
    checked = 0
    for route, methods in allowed.items():
        if method in methods:
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "1", route)
        response = client.open(path, method=method, headers=bearer(token))
        assert_error_shape(response, 405)
        assert set(response.headers["Allow"].split(", ")) == methods, path
        checked += 1
    assert checked > 0


def test_english_errors_with_accept_language(client: FlaskClient) -> None:
    body = client.get("/api/v1/books", headers={"Accept-Language": "en"}).get_json()
    assert body["error"] == "Log in or send an API token."


def test_openapi_is_served_and_matches_the_routes(app: Flask, client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.yaml")
    assert response.status_code == 200
    spec = yaml.safe_load(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.1")
    documented = {
        (path, method.upper())
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "delete", "patch"}
    }
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served
