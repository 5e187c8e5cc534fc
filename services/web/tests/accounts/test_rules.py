"""The account field rules (rules.py), as the sign-up form shows them: each invalid
field gets its message, in the visitor's language, and nothing is stored."""

import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient

from services.web.tests.support import AuthActions, user_by_email


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": ""}, "name", "Este campo es obligatorio."),
        ({"name": "Ana\nBob"}, "name", "No puede contener saltos de línea"),
        ({"name": "x" * 101}, "name", "como máximo 100 caracteres"),
        ({"email": ""}, "email", "Este campo es obligatorio."),
        ({"email": "not-an-email"}, "email", "Escribe una dirección de correo válida."),
        ({"email": "a@b"}, "email", "Escribe una dirección de correo válida."),
        ({"password": ""}, "password", "Este campo es obligatorio."),
        ({"password": "short"}, "password", "Usa entre 10 y 256 caracteres."),
        ({"password": "123456789"}, "password", "Usa entre 10 y 256 caracteres."),
        ({"password": "1234567890"}, "password", "Esta contraseña es de las más usadas."),
        ({"password": "Password123"}, "password", "Esta contraseña es de las más usadas."),
        ({"password": "qwertyuiop"}, "password", "Esta contraseña es de las más usadas."),
        ({"password": "EMAIL"}, "password", "no puede contener tu dirección de correo"),
        ({"password": "EMAIL!2024"}, "password", "no puede contener tu dirección de correo"),
        ({"password": "LOCAL-PART-xyz"}, "password", "no puede contener tu dirección de correo"),
        ({"name": "Ana María Pérez", "password": "ana maría pérez"}, "password", "ser tu nombre"),
    ],
)
def test_registration_validation(
    app: Flask, client: FlaskClient, form: dict[str, str], field: str, message: str
) -> None:
    email = f"v-{uuid.uuid4().hex}@example.com"
    data = {"name": "Ana", "email": email, "password": "long enough pw", **form}
    local_part = email.partition("@")[0]
    data["password"] = data["password"].replace("EMAIL", email).replace("LOCAL-PART", local_part)
    response = client.post("/auth/register", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert f'aria-describedby="{field}-error"' in page or f'{field}-error"' in page
    assert user_by_email(app, email) is None


@pytest.mark.parametrize("local_part", ["josé", "ñandú", "用户", "zoë.ana"])
@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("es", "Usa solo letras sin acentos, números y . _ - + antes de la @"),
        ("en", "Use only unaccented letters, digits and . _ - + before the @"),
    ],
)
def test_a_non_ascii_local_part_is_refused_with_a_clear_message(
    app: Flask, client: FlaskClient, local_part: str, language: str, message: str
) -> None:
    """The worker's SMTP could never send to it (no SMTPUTF8): refuse it up front."""
    email = f"{local_part}-{uuid.uuid4().hex[:8]}@example.com"
    response = client.post(
        "/auth/register",
        data={"name": "Ana", "email": email, "password": "long enough pw"},
        headers={"Accept-Language": language},
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert user_by_email(app, email) is None


@pytest.mark.parametrize(
    ("name", "language", "message"),
    [
        ("\u200b\u2060", "en", "Must contain at least one visible character."),
        ("\u3164", "es", "Debe contener al menos un carácter visible."),
        (
            "\u202eknab ruoY",
            "en",
            "Must not contain invisible characters that change the text direction.",
        ),
        (
            "Ana\u2067",
            "es",
            "No puede contener caracteres invisibles que cambian la dirección del texto.",
        ),
    ],
)
def test_a_name_must_show_something_and_keep_its_direction(
    app: Flask, client: FlaskClient, name: str, language: str, message: str
) -> None:
    """The name is the email's greeting and its To display name."""
    email = f"n-{uuid.uuid4().hex}@example.com"
    response = client.post(
        "/auth/register",
        data={"name": name, "email": email, "password": "long enough pw"},
        headers={"Accept-Language": language},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page.split('id="name-error"')[1].split("</ul>")[0]
    assert user_by_email(app, email) is None


def test_an_internationalized_domain_is_accepted(auth: AuthActions) -> None:
    """Only the local part must be ASCII: the domain is sent as IDNA."""
    email = f"ana-{uuid.uuid4().hex[:8]}@ñandú.es"
    response = auth.register(email=email)
    assert response.location == "/auth/inbox"
    assert user_by_email(auth.app, email) is not None
