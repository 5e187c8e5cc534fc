"""Sign-up without account enumeration: a new address and one that has an account get
the same answer; the new one its account and a verification email, the taken one no
account and its owner an email saying someone tried (once per interval)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from devstack.bookshelf_client import unique_email
from services.web.tests.accounts.support import interval_passed, link_path, notices
from services.web.tests.support import AuthActions, user_by_email


def test_a_taken_address_gets_the_same_answer_and_its_owner_is_told(
    app: Flask, auth: AuthActions
) -> None:
    owner = auth.create_user(locale="en")
    new_address = unique_email()
    fresh = auth.register(email=new_address)
    taken = auth.on(app).register(email=owner.email.upper())

    assert fresh.status_code == taken.status_code == 302
    assert fresh.location == taken.location == "/auth/inbox"
    assert fresh.get_data() == taken.get_data()
    assert ("Set-Cookie" in fresh.headers) == ("Set-Cookie" in taken.headers)
    [told] = notices(app, owner.id, "address_taken")
    assert told.payload["user_email"] == owner.email
    assert link_path(told, "reset_page") == "/auth/reset/"
    assert notices(app, owner.id, "verify_address") == []
    new_user = user_by_email(app, new_address)
    assert new_user is not None and new_user.email_verified_at is None
    [verify] = notices(app, new_user.id, "verify_address")
    assert link_path(verify).startswith("/auth/verify/")


def test_the_owner_is_told_once_per_interval(app: Flask, auth: AuthActions) -> None:
    owner = auth.create_user()
    for _ in range(3):
        auth.on(app).register(email=owner.email)
    assert len(notices(app, owner.id, "address_taken")) == 1
    interval_passed(app, owner.id)
    auth.on(app).register(email=owner.email)
    assert len(notices(app, owner.id, "address_taken")) == 2


def test_sign_up_does_not_log_in(client: FlaskClient, auth: AuthActions) -> None:
    auth.register()
    assert client.get("/books/new").status_code == 302


def test_the_verification_email_does_not_greet_with_a_name_the_signer_chose(
    app: Flask, auth: AuthActions
) -> None:
    """The name is the signer's; the address may be someone else's: until its owner
    verifies it, the email addresses them by the address alone."""
    email = unique_email()
    auth.register(name="Your bank", email=email)
    user = user_by_email(app, email)
    assert user is not None
    [verify] = notices(app, user.id, "verify_address")
    assert verify.payload["user_name"] == email
