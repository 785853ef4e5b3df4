"""Writers and two sequencers at once, on PostgreSQL (where ids become visible out of order):
every event is numbered exactly once, and the numbers are 1..N with no gap and no repeat."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from orders import lifecycle
from orders.models import EventCause
from stream import sequencer
from stream.models import StreamEvent
from stream.reader import events_since, latest_seq
from stream.sequencer import sequence_pass, sequence_pending
from tests.conftest import wait_for
from venues.base import OrdStatus as S

from .conftest import submit

WRITERS = 4
ORDERS_EACH = 15


def write_orders(account, writer: int) -> int:
    """Submit orders and reject every other one: two events each, or one."""
    written = 0
    try:
        for n in range(ORDERS_EACH):
            order = submit(account, f"w{writer}-{n}")
            written += 1
            if n % 2 and lifecycle.transition(
                order.pk, to=S.REJECTED, cause=EventCause.ROUTE, allowed_from={S.RECEIVED}
            ):
                written += 1
        return written
    finally:
        connection.close()


def sequence_until(done: threading.Event, *, busy_skips: bool = False) -> list[int]:
    """Passes as a hub runs them: with busy_skips, one that skips numbers nothing, and one
    that held the cursor is followed by another at once."""
    seqs = []
    try:
        while not done.is_set():
            done_pass = sequence_pass(limit=7, busy_skips=busy_skips)
            seqs += [event.seq for event in done_pass.events]
            if not done_pass.locked:
                time.sleep(0.002)
        return seqs
    finally:
        connection.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("busy_skips", [False, True], ids=["waiting", "skipping"])
def test_concurrent_writers_and_two_sequencers_number_every_event_once_without_gaps(
    account, busy_skips, settings
):
    settings.EMSWEB_STREAM_WRITERS_SEQUENCE = False  # only the two sequencers number
    start = latest_seq()
    done = threading.Event()
    with ThreadPoolExecutor(max_workers=WRITERS + 2) as pool:
        sequencers = [pool.submit(sequence_until, done, busy_skips=busy_skips) for _ in range(2)]
        writers = [pool.submit(write_orders, account, n) for n in range(WRITERS)]
        written = sum(writer.result() for writer in writers)
        done.set()
        seen = [seq for sequencer in sequencers for seq in sequencer.result()]
    seen += [event.seq for event in sequence_pending()]  # what the last passes left

    assert sorted(seen) == list(range(start + 1, start + written + 1))
    assert not StreamEvent.objects.filter(seq__isnull=True).exists()
    assert [event.seq for event in events_since(start, limit=10_000)] == sorted(seen)
    assert latest_seq() == start + written


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the advisory lock: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_skipping_pass_does_not_wait_for_one_in_progress_and_numbers_nothing(account, settings):
    settings.EMSWEB_STREAM_WRITERS_SEQUENCE = False  # the passes here are the hubs'
    submit(account, "pending")
    holding, release = threading.Event(), threading.Event()

    def hold_the_cursor():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [sequencer.ADVISORY_KEY])
                    cursor.execute("UPDATE stream_streamcursor SET last_seq = last_seq")
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        holder = pool.submit(hold_the_cursor)
        assert holding.wait(30)
        skipped = sequence_pass(busy_skips=True)
        release.set()
        holder.result()
    assert skipped == sequencer.SequencePass([], locked=False)
    numbered = sequence_pass(busy_skips=True)
    assert numbered.locked and len(numbered.events) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="writers' passes: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_writers_number_their_own_events_beside_a_hubs_passes_once_each_without_gaps(
    account, settings
):
    settings.EMSWEB_STREAM_WRITERS_SEQUENCE = True
    start = latest_seq()
    done = threading.Event()
    with ThreadPoolExecutor(max_workers=WRITERS + 1) as pool:
        hub = pool.submit(sequence_until, done, busy_skips=True)
        writers = [pool.submit(write_orders, account, n) for n in range(WRITERS)]
        written = sum(writer.result() for writer in writers)
        done.set()
        hub.result()
    while sequence_pass(busy_skips=True).locked:
        pass  # the hub's look after a pass that held the cursor
    wait_for(
        lambda: not StreamEvent.objects.filter(seq__isnull=True).exists(),
        what="the writers' passes to number every event",
    )
    # Each numbered once, no gap; events of other writers (an earlier test's account sync
    # committing late) may be among them.
    seqs = [event.seq for event in events_since(start, limit=10_000)]
    assert seqs == list(range(start + 1, start + len(seqs) + 1))
    assert len(seqs) >= written
