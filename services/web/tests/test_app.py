"""The factory: ProxyFix trusts one proxy hop; the CLI finds the factory."""

from flask import Flask, request
from flask.testing import FlaskClient

from services.web.tests.support import MakeApp


def test_proxy_fix_trusts_one_hop(make_app: MakeApp) -> None:
    app: Flask = make_app()

    @app.get("/_probe")
    def probe() -> dict[str, str]:
        return {"addr": str(request.remote_addr), "scheme": request.scheme, "host": request.host}

    response = app.test_client().get(
        "/_probe",
        headers={
            "X-Forwarded-For": "198.51.100.1, 203.0.113.9",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "books.example",
        },
    )
    assert response.get_json() == {
        "addr": "203.0.113.9",
        "scheme": "https",
        "host": "books.example",
    }


def test_static_css_is_served(client: FlaskClient) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
