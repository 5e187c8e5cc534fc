"""The account's emails through the whole stack, read in MailHog and followed as a
person would: verification releases the book emails that waited for it, sign-up and
reset never tell who has an account, a reset link works once, a change of address is
confirmed by the new one and told to the old one, and a deleted account is gone."""

from __future__ import annotations

import uuid

from devstack.bookshelf_client import Account, BookshelfUser, unique_email
from devstack.mailbox import Mailbox
from tests.e2e.support import StackUrls

HELD = "state-held"


def subjects(mailhog: Mailbox, address: str) -> list[str]:
    return sorted(email.subject for email in mailhog.messages_to(address))


def test_book_emails_wait_for_the_verification_link_then_arrive_once(
    stack: StackUrls, mailhog: Mailbox
) -> None:
    reader = BookshelfUser(stack.base_url)
    reader.register()  # not verified: the link stays in the mailbox
    title = f"Rayuela {uuid.uuid4().hex[:6]}"
    reader.add_book(title=title, author="Julio Cortázar")
    assert HELD in reader.get("/notifications/").text
    (verification,) = mailhog.wait_for(reader.account.email, 1)
    assert verification.subject == "Confirma tu dirección de correo en Bookshelf"

    reader.follow_link(mailhog, "/auth/verify/")

    emails = mailhog.wait_for(reader.account.email, 2)
    book = [email for email in emails if title in email.subject]
    assert len(book) == 1 and book[0].subject == f"Libro añadido: {title}"
    assert HELD not in reader.get("/notifications/").text
    # The link worked once.
    _email, path = reader.mailed_link(mailhog, "/auth/verify/")
    assert reader.http.get(reader.url(path), timeout=10).status_code == 400


def test_sign_up_with_a_taken_address_tells_its_owner_and_nobody_else(
    stack: StackUrls, mailhog: Mailbox, user: BookshelfUser
) -> None:
    password = f"impostora-{uuid.uuid4().hex[:10]}"  # passes any password policy
    impostor = BookshelfUser(stack.base_url, Account("Impostora", user.account.email, password))
    taken = impostor.submit(
        "/auth/register", "password", name="Impostora", email=user.account.email, password=password
    )
    stranger = BookshelfUser(stack.base_url)
    fresh = stranger.submit(
        "/auth/register", "password", name="Nueva", email=stranger.account.email, password=password
    )
    assert taken.url == fresh.url == stack.base_url.rstrip("/") + "/auth/inbox"
    assert taken.status_code == fresh.status_code == 200
    (told,) = mailhog.wait_for(user.account.email, 1)
    assert told.subject == "Alguien intentó registrarse en Bookshelf con tu dirección"
    assert "/auth/reset/" in told.part("text/plain")
    assert "/auth/verify/" not in told.part("text/plain")


def test_a_reset_link_sets_a_new_password_once(
    stack: StackUrls, mailhog: Mailbox, user: BookshelfUser
) -> None:
    """And its token (a secret) is in no log of the stack, nginx's and gunicorn's access
    logs included, though the link's page was loaded with it (and its Referer sent)."""
    unknown = user.submit("/auth/reset/", "email", email=unique_email("nobody"))
    asked = user.submit("/auth/reset/", "email", email=user.account.email)
    assert unknown.url == asked.url == stack.base_url.rstrip("/") + "/auth/inbox"

    new_password = "una contraseña nueva y larga"
    _email, link = user.mailed_link(mailhog, "/auth/reset/")
    token = link.rsplit("/", 1)[1]
    user.http.get(user.url("/static/style.css"), headers={"Referer": user.url(link)}, timeout=10)
    done = user.follow_link(mailhog, "/auth/reset/", password=new_password)
    assert done.url.endswith("/auth/login")
    _email, path = user.mailed_link(mailhog, "/auth/reset/")
    assert user.http.get(user.url(path), timeout=10).status_code == 400
    user.account.password = new_password
    user.logout()
    user.login()
    if stack.local is not None:  # a stack of local processes: its logs are files here
        logs = stack.local.log_files()
        assert "nginx requests" in logs and "web (gunicorn)" in logs
        for name, log_file in logs.items():
            text = log_file.read_text(errors="replace") if log_file.exists() else ""
            assert token not in text, f"the reset token is in the {name} log"
        assert "/auth/reset/***" in logs["nginx requests"].read_text()


def test_a_new_address_is_confirmed_by_itself_and_the_old_one_is_told(
    stack: StackUrls, mailhog: Mailbox, user: BookshelfUser
) -> None:
    old, new = user.account.email, unique_email("moved")
    user.submit(
        "/auth/account/email", "current_password", email=new, current_password=user.account.password
    )
    email, path = user.mailed_link(mailhog, "/auth/account/email/", to=new)
    assert email.subject == "Confirma tu nueva dirección de correo en Bookshelf"
    assert old in user.get("/auth/account").text  # not replaced yet

    form_page = user.get(path)
    assert new in form_page.text
    user.follow_link_at(path)
    assert new in user.get("/auth/account").text
    (told,) = mailhog.wait_for(old, 1)
    assert told.subject == "Se cambió tu dirección de correo en Bookshelf"
    assert new in told.part("text/plain")
    title = f"Ficciones {uuid.uuid4().hex[:6]}"
    user.add_book(title=title, author="Borges")
    assert [e for e in mailhog.wait_for(new, 2) if title in e.subject]


def test_a_deleted_account_is_gone(stack: StackUrls, user: BookshelfUser) -> None:
    user.add_book(title="Borrable", author="Nadie")
    done = user.submit(
        "/auth/account/delete", "current_password", current_password=user.account.password
    )
    assert done.ok and done.url.endswith("/auth/login")
    again = user.submit(
        "/auth/login", "password", email=user.account.email, password=user.account.password
    )
    assert again.status_code == 422
