"""/docs/api: the API reference page, Swagger UI from the installed package's files
(no CDN), linked from every page's footer."""

from flask.testing import FlaskClient


def test_the_footer_links_to_a_readable_reference(client: FlaskClient) -> None:
    login_page = client.get("/auth/login").get_data(as_text=True)
    assert '<a href="/docs/api/">API</a>' in login_page
    page = client.get("/docs/api/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert 'data-spec-url="/api/v1/openapi.yaml"' in text
    assert 'src="/docs/api/assets/swagger-ui-bundle.js"' in text
    assert 'src="/static/api-docs.js"' in text
    assert "http://" not in text and "https://" not in text  # nothing from another site


def test_swagger_ui_is_served_from_the_package(client: FlaskClient) -> None:
    script = client.get("/docs/api/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert script.mimetype in {"text/javascript", "application/javascript"}
    assert b"SwaggerUIBundle" in script.get_data()
    assert client.get("/docs/api/assets/swagger-ui.css").mimetype == "text/css"
    assert client.get("/docs/api/assets/../../../etc/passwd").status_code == 404
