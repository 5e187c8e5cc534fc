"""P2: the add-book p99 while a worker sends every email through an SMTP server that takes
200 ms per message, against the p99 of the tutorial way, a synchronous Flask-Mail send
inside the request (bench/sync_mail_app.py, under the same gunicorn configuration)."""

from __future__ import annotations

import argparse
from typing import Any

from bench.hey import run_hey
from bench.load import ApiClient
from bench.request_path import load_average, log
from devstack.gunicorn import GunicornServer
from devstack.stack import LocalStack

APP_SPEC = "bench.sync_mail_app:create_app()"


class SyncMailWeb(GunicornServer):
    """The devstack gunicorn (same gunicorn.conf.py: 2 sync workers), serving the
    tutorial app instead of Bookshelf."""

    def __init__(self, stack: LocalStack, smtp_port: int) -> None:
        super().__init__(
            stack.workdir / "sync-mail", {**stack.env, "BENCH_SMTP_PORT": str(smtp_port)}
        )
        # The app spec is gunicorn's last argument (devstack/gunicorn.py).
        if self.process.argv[-1] != "bookshelf:create_app()":
            raise RuntimeError(f"unexpected gunicorn command {self.process.argv}")
        self.process.argv[-1] = APP_SPEC


def p2(
    sync_web: SyncMailWeb,
    client: ApiClient,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Alternately: adds through nginx at c=1, then the same POST at c=1 to the
    Flask-Mail app. Run with the stack's worker stopped and one extra worker sending
    every email to the slow server (the scale-out's first)."""
    runs: dict[str, list[dict[str, Any]]] = {"bookshelf": [], "sync_flask_mail": []}
    sync_url = f"{sync_web.base_url}/api/v1/books"
    book = client.book("p2")
    for url, token in ((client.books_url, client.token), (sync_url, None)):  # warm-up
        run_hey(
            url,
            requests=8,
            concurrency=2,
            time_limit=args.time_limit,
            token=token,
            json_body=book,
        )
    for rep in range(args.reps):
        for label, url, token, count in (
            ("bookshelf", client.books_url, client.token, args.p2_requests),
            ("sync_flask_mail", sync_url, None, args.p2_sync_requests),
        ):
            load = load_average()
            run = run_hey(
                url, requests=count, concurrency=1, time_limit=args.time_limit,
                token=token, json_body=book,
            )  # fmt: skip
            runs[label].append({**run.summary(), "load_before": load})
        log(
            f"P2 {rep + 1}/{args.reps}: p99 {runs['bookshelf'][-1]['p99_ms']} ms "
            f"vs {runs['sync_flask_mail'][-1]['p99_ms']} ms"
        )
    return runs
