"""The DataGate on real sockets: the point of no return is passed only once the server
has said 354 to DATA, and a message counts as out only once its final "." has gone.
Between the two, a dead worker or a lost connection leaves nothing the server kept."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from bookshelf_worker.smtp import DataGate, GatedSMTP, LeaseLost
from services.worker.tests.support import CuttingSMTP, ScriptedSMTPHandler

MESSAGE = b"Subject: gate\r\n\r\nhola\r\n"


@pytest.fixture
def cutting() -> Iterator[CuttingSMTP]:
    server = CuttingSMTP(cuts=1).start()
    yield server
    server.stop()


def send(port: int, gate: DataGate) -> None:
    host = GatedSMTP("127.0.0.1", port, timeout=5)
    try:
        with gate:
            host.sendmail("no-reply@bookshelf.test", ["ana@example.com"], MESSAGE)
    finally:
        host.close()


def test_a_server_that_hangs_up_on_data_never_reaches_the_point_of_no_return(
    cutting: CuttingSMTP,
) -> None:
    passed: list[int] = []  # the messages the server had read, at each pass

    def check() -> bool:
        passed.append(cutting.messages)
        return True

    gate = DataGate(check)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(cutting.port, gate)
    assert (passed, gate.message_out, cutting.cut) == ([], False, 1)

    send(cutting.port, gate)  # the server's next session takes it
    assert (passed, gate.message_out, cutting.messages) == ([0], True, 1)


def test_a_lost_claim_at_the_point_of_no_return_sends_nothing(
    smtp: tuple[ScriptedSMTPHandler, int],
) -> None:
    """After the 354, the claim is gone: the connection is closed mid-DATA, without the
    final ".", and the server keeps nothing."""
    handler, port = smtp
    gate = DataGate(lambda: False)
    with pytest.raises(LeaseLost):
        send(port, gate)
    assert not gate.message_out
    assert handler.data_attempts == 0 and handler.delivered == []
