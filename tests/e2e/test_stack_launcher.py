"""The launcher itself: a service that does not come up is named, with its log, and
nothing that did start is left running; `make dev` keeps its data across restarts."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devstack.bookshelf_client import BookshelfUser
from devstack.process import StackError
from devstack.stack import LocalStack
from tests.e2e.support import REPO, StackUrls, selected_mode

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


@contextmanager
def make_dev(state_dir: Path) -> Iterator[str]:
    """`python -m devstack` (what `make dev` runs) on `state_dir`; the app's URL once its
    summary is printed. Stopped with SIGTERM, as Ctrl-C would."""
    env = {**os.environ, "DEVSTACK_DIR": str(state_dir), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output = process.stdout
    assert output is not None

    def forward() -> None:
        for line in output:
            lines.put(line)

    threading.Thread(target=forward, daemon=True).start()
    printed: list[str] = []
    try:
        while not any("Ctrl-C stops everything" in line for line in printed):
            printed.append(lines.get(timeout=120))
        [app_line] = [line for line in printed if "App (via nginx):" in line]
        assert f"Data:            {state_dir / 'data'}" in "".join(printed)
        yield app_line.split("App (via nginx):")[1].strip().rstrip("/")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 0, "".join(printed)


def test_make_dev_keeps_its_data_across_a_restart_and_dev_reset_wipes_it() -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="bookshelf-devstack-"))
    state_dir.chmod(0o755)  # nginx's workers and Postgres (not root) enter it
    try:
        with make_dev(state_dir) as base_url:
            reader = BookshelfUser(base_url)
            reader.register()
            reader.add_book(title="Rayuela", author="Julio Cortázar")
        with make_dev(state_dir) as base_url:
            reader.base_url = base_url  # new ports; the same session cookie
            assert "Rayuela" in reader.get("/").text
        assert (state_dir / "data" / "postgres").is_dir()
        reset = subprocess.run(
            [sys.executable, "-m", "devstack", "reset"],
            cwd=REPO,
            env={**os.environ, "DEVSTACK_DIR": str(state_dir)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert reset.returncode == 0, reset.stderr
        assert not (state_dir / "data").exists()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
