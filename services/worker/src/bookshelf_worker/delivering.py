"""One delivery attempt of one email, recorded on its outbox row in Postgres.

The states, leases and the point of no return are bookshelf_tasks.delivery's; this is
the worker's side of them: claim, send through the DataGate, record the outcome.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bookshelf_tasks import Email, delivery
from bookshelf_worker.failures import classify
from bookshelf_worker.metrics import SMTP_SECONDS
from bookshelf_worker.sending import EmailAttempt, log_email, retry_countdown, send_email
from bookshelf_worker.smtp import DataGate, LeaseLost

Outcome = Literal["sent", "duplicate-skipped", "lease-lost", "retrying", "failed", "uncertain"]
# How long an outcome write keeps trying while Postgres is away (a restart takes
# seconds). Past it the row's lease runs out and the relay settles it.
RECORD_DEADLINE = 20.0


@dataclass(frozen=True)
class Attempted:
    outcome: Outcome
    countdown: float | None = None  # for "retrying": when the task's retry is due


def deliver(
    engine: Engine,
    event: Email,
    attempt: EmailAttempt,
    leases: delivery.Leases = delivery.LEASES,
) -> Attempted:
    """Claim `event`, send it, record what happened. Raises SQLAlchemyError only when
    the claim itself cannot be made (the row is untouched: retry the message later)."""
    claim = delivery.claim(engine, event.event_id, leases)
    if claim is None:  # sent, or another attempt holds it: this message is a copy
        log_email(logging.INFO, "duplicate-skipped", attempt)
        return Attempted("duplicate-skipped")
    attempt = replace(attempt, attempt=claim.attempt)
    gate = DataGate(lambda: delivery.pass_point_of_no_return(engine, claim, leases))
    began = time.perf_counter()
    try:
        with gate:
            send_email(event)
    except LeaseLost:
        log_email(logging.WARNING, "lease-lost", attempt)
        return Attempted("lease-lost")
    except Exception as exc:  # noqa: BLE001 - sorted by classify(); a bug is logged
        SMTP_SECONDS.labels("error").observe(time.perf_counter() - began)
        return _failed(engine, claim, attempt, exc, gate.message_out, leases)
    SMTP_SECONDS.labels("ok").observe(time.perf_counter() - began)
    _record(lambda: delivery.record_sent(engine, claim), attempt)
    log_email(logging.INFO, "sent", attempt)
    return Attempted("sent")


def _failed(
    engine: Engine,
    claim: delivery.Claim,
    attempt: EmailAttempt,
    exc: Exception,
    message_out: bool,
    leases: delivery.Leases,
) -> Attempted:
    failure = classify(exc, message_out=message_out)
    if failure is None:  # a bug, or the database at DATA: the lease runs out, the relay acts
        log.exception("email event %s: unexpected error", claim.event_id)
        log_email(logging.ERROR, "error", attempt, error=type(exc).__name__)
        return Attempted("failed")
    details = {"failure": failure.kind, "smtp_code": failure.code, "reason": failure.reason}
    reason = f"{failure.code} {failure.reason}" if failure.code else failure.reason
    if failure.kind == "uncertain":
        _record(lambda: delivery.record_uncertain(engine, claim, reason), attempt)
        log_email(logging.ERROR, "uncertain", attempt, **details)
        return Attempted("uncertain")
    if failure.transient and claim.retries_left:
        countdown = retry_countdown(claim.attempt - claim.budget_start - 1)
        _record(lambda: delivery.record_retrying(engine, claim, countdown, reason, leases), attempt)
        log_email(logging.WARNING, "retrying", attempt, **details, countdown=f"{countdown:.1f}")
        return Attempted("retrying", countdown)
    _record(lambda: delivery.record_failed(engine, claim, reason), attempt)
    log_email(logging.ERROR, "failed", attempt, **details)
    return Attempted("failed")


log = logging.getLogger("bookshelf_worker.email")


def _record(write: Callable[[], bool], attempt: EmailAttempt) -> None:
    """Run an outcome write, retrying while Postgres is unreachable for up to
    RECORD_DEADLINE. A write that matches no row (the relay settled it meanwhile) is
    logged; the email's fate is the row's."""
    deadline = time.monotonic() + RECORD_DEADLINE
    pause = 0.2
    while True:
        try:
            if not write():
                log_email(logging.WARNING, "outcome-not-recorded", attempt, reason="row moved on")
            return
        except SQLAlchemyError as error:
            if time.monotonic() + pause > deadline:
                log_email(logging.ERROR, "outcome-not-recorded", attempt, reason=str(error)[:200])
                return
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
