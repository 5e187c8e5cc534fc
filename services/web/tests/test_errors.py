"""Error pages for people, JSON errors under /api/: 404, 405, 413."""

from typing import Any

from flask.testing import FlaskClient


def test_too_large_form_gets_a_clear_page(make_app: Any, auth: Any) -> None:
    app = make_app(MAX_CONTENT_LENGTH=1024)
    client = app.test_client()
    auth.client = client
    auth.new_user()
    response = client.post("/books/new", data={"title": "T", "author": "A", "notes": "n" * 4096})
    assert response.status_code == 413
    assert "La petición es demasiado grande (el límite es 1024 B)." in response.get_data(
        as_text=True
    )


def test_default_limit_is_one_mib(client: FlaskClient, auth: Any) -> None:
    auth.new_user()
    response = client.post(
        "/api/v1/books", json={"title": "T", "author": "A", "notes": "n" * ONE_MIB}
    )
    assert response.status_code == 413
    assert response.get_json()["error"].endswith("(el límite es 1 MiB).")


ONE_MIB = 1024 * 1024


def test_unknown_page_is_a_friendly_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Error 404" in response.get_data(as_text=True)


def test_wrong_method_on_a_page_is_405(client: FlaskClient) -> None:
    response = client.delete("/auth/login")
    assert response.status_code == 405 and response.mimetype == "text/html"
