"""The core promise: adding or deleting a book sends that user one email, with its data;
so does an edit, for a user who asked for it."""

from __future__ import annotations

import html
import uuid

from devstack.bookshelf_client import BookshelfUser
from devstack.html_forms import find_form
from devstack.mailbox import Mailbox
from tests.e2e.support import StackUrls


def test_register_login_add_then_delete_sends_one_email_each(
    stack: StackUrls, mailhog: Mailbox
) -> None:
    reader = BookshelfUser(stack.base_url)
    reader.register(mailhog)
    reader.logout()
    reader.login()
    title = f"Rayuela {uuid.uuid4().hex[:6]}"

    book_id = reader.add_book(title=title, author="Julio Cortázar", isbn="", year="1963")

    assert title in reader.get(f"/books/{book_id}").text
    (added,) = mailhog.wait_for(reader.account.email, 1)
    assert title in added.subject
    assert "Julio Cortázar" in added.part("text/plain")
    assert added.to == [reader.account.email]

    reader.delete_book(book_id)

    # The delete email is also the sentinel: had the add been sent twice, the
    # duplicate would be queued before it, and this would see three.
    emails = mailhog.wait_for(reader.account.email, 2)
    assert len(emails) == 2, [e.subject for e in emails]
    deleted = next(e for e in emails if e.message_id != added.message_id)
    assert title in deleted.subject
    assert title not in reader.get("/").text


def test_title_with_accents_emoji_and_tags_is_intact_in_text_and_escaped_in_html(
    user: BookshelfUser, mailhog: Mailbox
) -> None:
    marker = uuid.uuid4().hex[:6]
    title = f"Cien años de ñandúes 📚 <b>tags</b> & “comillas” {marker}"
    author = "José Émile Ørsted"

    book_id = user.add_book(title=title, author=author)

    (email,) = mailhog.wait_for(user.account.email, 1)
    assert title in email.subject
    text_part, html_part = email.part("text/plain"), email.part("text/html")
    assert title in text_part
    assert author in text_part
    assert "<b>tags</b>" not in html_part
    assert html.escape(title, quote=False) in html_part
    assert "📚" in html_part and "ñandúes" in html_part
    # The library page escapes it too.
    page = user.get(f"/books/{book_id}").text
    assert "<b>tags</b>" not in page
    assert "&lt;b&gt;tags&lt;/b&gt;" in page


def test_an_edit_sends_one_email_when_the_user_asked_for_it(
    user: BookshelfUser, mailhog: Mailbox
) -> None:
    page = user.get("/auth/account")
    form = find_form(page.text, page.url, having="email_preference")
    saved = user.http.post(form.action, data={**form.fields, "email_on_edit": "y"}, timeout=10)
    assert saved.ok and 'name="email_on_edit"' in saved.text, saved.status_code
    title = f"Rayuela {uuid.uuid4().hex[:6]}"
    book_id = user.add_book(title=title, author="Julio Cortázar")
    edit = f"/books/{book_id}/edit"
    edited = user.submit(edit, "title", action_ends=edit, title=f"{title} (2.ª ed.)")
    assert edited.ok and edited.url == user.url(f"/books/{book_id}"), edited.url

    user.delete_book(book_id)

    # The delete email is the sentinel: an edit email sent twice would be queued before
    # it, so once all three kinds are in, a duplicate would show as a fourth.
    emails = mailhog.wait_for(user.account.email, 3)
    subjects = sorted(email.subject for email in emails)
    assert [s for s in subjects if s.startswith("Libro editado:")] == [
        f"Libro editado: {title} (2.ª ed.)"
    ], subjects
    assert len(emails) == 3, subjects
    (edit_email,) = (e for e in emails if e.subject.startswith("Libro editado:"))
    assert "Editaste este libro" in edit_email.part("text/plain")
