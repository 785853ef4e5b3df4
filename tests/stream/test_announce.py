"""On PostgreSQL the order path numbers its own events in the statement that writes them, and
its writer announces them after the commit (stream.announce): no pass on their path, the same
gap-free order, and a message that every reader of a seq gets alike, even when the writer dies
between its commit and keeping it."""

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.services import api_key_create
from fix.delivery import order_events, previous_report
from orders import lifecycle
from orders.models import EventCause
from stream.announce import Numbered, orders_announce
from stream.models import EventKind, StreamCursor, StreamEvent
from stream.outbox import POKE_CHANNEL
from stream.passes import writer_passes_stop
from stream.reader import GONE, events_since, latest_seq, messages_keep
from stream.sequencer import EVENTS_CHANNEL, sequence_pending
from tests.conftest import wait_for
from venues.base import OrdStatus as S

from .conftest import submit

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="writers number: PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def writers_number(settings):
    settings.EMSWEB_STREAM_WRITERS_SEQUENCE = True
    yield
    writer_passes_stop()


@pytest.fixture
def listener(redis_broker):
    subscriber = redis_broker.pubsub()
    subscriber.subscribe(EVENTS_CHANNEL, POKE_CHANNEL)
    for _ in range(2):
        subscriber.get_message(timeout=5)
    yield subscriber
    subscriber.close()


def published(listener) -> list[dict]:
    """The events of the next batch on EVENTS_CHANNEL, parsed."""
    message = listener.get_message(timeout=5)
    assert message is not None and message["channel"] == EVENTS_CHANNEL.encode()
    return [json.loads(line.split("\t", 3)[3]) for line in message["data"].decode().split("\n")]


def row_of(order_id: int) -> StreamEvent:
    return StreamEvent.objects.filter(kind=EventKind.ORDER, ref_id=order_id).latest("id")


def test_a_submit_numbers_its_event_in_its_commit_and_announces_the_report(
    account, writers_number, listener
):
    start = latest_seq()
    order = submit(account, "numbered-on-submit")
    row = row_of(order.pk)
    assert row.seq == start + 1 == latest_seq()  # numbered by the commit itself: no pass ran
    (update,) = published(listener)
    assert update["seq"] == row.seq and update["client_order_id"] == "numbered-on-submit"
    assert update["status"] == S.RECEIVED
    row.refresh_from_db()
    assert json.loads(row.message) == {key: value for key, value in update.items() if key != "seq"}
    assert listener.get_message(timeout=0.2) is None  # nobody was poked


def test_a_transition_outside_a_transaction_numbers_and_reads_its_report_in_one_statement(
    account, writers_number, listener
):
    order = submit(account, "numbered-on-transition")
    published(listener)
    with CaptureQueriesContext(connection) as queries:
        assert lifecycle.transition(
            order.pk, to=S.REJECTED, cause=EventCause.ROUTE, allowed_from={S.RECEIVED}
        )
    assert len(queries) == 1  # the write, its rows, the seq and the report: one round trip
    (update,) = published(listener)
    assert update["status"] == S.REJECTED and update["seq"] == row_of(order.pk).seq
    assert [status for status, _ in update["status_history"]] == [S.RECEIVED, S.REJECTED]


def test_a_write_inside_a_longer_transaction_leaves_its_event_to_a_pass(account, writers_number):
    order = submit(account, "left-to-a-pass")
    with transaction.atomic():
        lifecycle.transition(
            order.pk, to=S.REJECTED, cause=EventCause.ROUTE, allowed_from={S.RECEIVED}
        )
        # The cursor is not held while this transaction goes on.
        assert row_of(order.pk).seq is None
    wait_for(lambda: row_of(order.pk).seq is not None, what="the writer's pass")


def test_without_a_cursor_row_the_event_is_left_to_a_pass_which_makes_it(account, writers_number):
    StreamCursor.objects.all().delete()
    order = submit(account, "no-cursor")
    wait_for(lambda: row_of(order.pk).seq is not None, what="the writer's pass")
    assert latest_seq() == row_of(order.pk).seq


def test_a_writer_killed_before_keeping_its_message_leaves_it_to_the_first_reader(account):
    """The row as such a writer leaves it: numbered, no message. The first reader builds and
    keeps it; a late keep (the writer after all, or another reader) gets what was kept."""
    order = submit(account, "writer-killed")
    sequence_pending()
    row = row_of(order.pk)
    StreamEvent.objects.filter(pk=row.pk).update(message="")
    (event,) = events_since(row.seq - 1)
    assert json.loads(event.message)["client_order_id"] == "writer-killed"
    row.refresh_from_db()
    assert row.message and event.message.endswith(row.message[1:])
    assert messages_keep([(row.pk, '{"type": "late"}')]) == {row.pk: row.message}


def test_an_order_gone_before_its_message_was_built_is_told_as_gone(account):
    order = submit(account, "gone")
    sequence_pending()
    row = row_of(order.pk)
    StreamEvent.objects.filter(pk=row.pk).update(message="", ref_id=0)
    (event,) = events_since(row.seq - 1)
    assert json.loads(event.message) == {"seq": row.seq} and GONE == "{}"


def test_the_fix_gateway_reads_a_message_its_writer_did_not_keep(account, trader):
    """fix.delivery reads the stream's rows itself: a numbered row with no message is built
    and kept for it too, and the report before it as well."""
    key, _ = api_key_create(user=trader, label="drop copy", read_only=True)
    order = submit(account, "fix-blank", user=trader)
    lifecycle.transition(order.pk, to=S.REJECTED, cause=EventCause.ROUTE, allowed_from={S.RECEIVED})
    sequence_pending()
    rows = StreamEvent.objects.filter(kind=EventKind.ORDER, ref_id=order.pk).order_by("seq")
    first, last = rows
    rows.update(message="")
    events, moved_to = order_events(api_key=key, since=first.seq - 1)
    assert [(seq, report["status"]) for seq, _, report in events] == [
        (first.seq, S.REJECTED),  # built now, from the order as it is
        (last.seq, S.REJECTED),
    ]
    assert moved_to == last.seq
    assert previous_report(order_id=order.pk, before=last.seq)["status"] == S.REJECTED
    assert not StreamEvent.objects.filter(ref_id=order.pk, message="").exists()


def test_announcements_that_queued_up_are_kept_and_published_in_one_batch(
    account, writers_number, listener
):
    orders = [submit(account, f"batched-{n}") for n in range(3)]
    for _ in orders:
        published(listener)
    rows = [row_of(order.pk) for order in orders]
    StreamEvent.objects.filter(pk__in=[row.pk for row in rows[:2]]).update(message="")
    # The third's message was kept already: a late announcement gets that one, not its own.
    numbered = [Numbered(row.pk, row.seq, account.pk, row.ref_id) for row in rows]
    orders_announce([(numbered[:2], None), (numbered[2:], [])])
    updates = published(listener)
    assert [update["seq"] for update in updates] == [row.seq for row in rows]
    assert [update["client_order_id"] for update in updates] == [f"batched-{n}" for n in range(3)]
    assert not StreamEvent.objects.filter(pk__in=[row.pk for row in rows], message="").exists()
