"""The launcher itself: a service that does not come up is named, with its log, and
nothing that did start is left running."""

from __future__ import annotations

import shutil

import pytest

from devstack.process import StackError
from devstack.stack import LocalStack
from tests.e2e.support import StackUrls, selected_mode

pytestmark = pytest.mark.skipif(
    selected_mode() != "local", reason="tests the local-process launcher; this run uses Docker"
)


def test_a_service_that_fails_is_named_with_its_log_and_the_rest_is_stopped() -> None:
    stack = LocalStack(keep_workdir=True)
    # Only gunicorn loses its secret: migrate still runs, so the failure is the web's.
    stack.web.process.env["SECRET_KEY"] = ""

    with pytest.raises(StackError) as failure:
        stack.start()

    message = str(failure.value)
    assert message.startswith("web (gunicorn) exited early")
    assert f"last lines of {stack.web.process.log_path}" in message
    processes = [stack.broker.process, stack.mail_catcher.process, stack.worker.process]
    assert [p.proc is not None for p in processes] == [True, True, True]
    assert not any(p.running for p in [*processes, stack.web.process, stack.nginx.process])
    assert not stack.postgres.data_dir.exists()
    assert "Missing required setting(s): SECRET_KEY" in stack.web.process.log_path.read_text()
    shutil.rmtree(stack.workdir)


def test_make_dev_summary_names_every_service_log_and_each_one_exists(stack: StackUrls) -> None:
    from devstack.__main__ import log_files, summary

    assert stack.local is not None
    logs = log_files(stack.local)
    text = summary(stack.local)

    assert "outbox relay" in logs
    assert str(stack.local.relay.log_path.name) in text
    missing = [name for name, path in logs.items() if not path.is_file()]
    assert missing == []
