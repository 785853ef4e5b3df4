"""The sequencer numbers what is committed, gap-free, stores each message, then publishes; the
reader serves the numbered events from the table."""

import json
from datetime import timedelta
from io import StringIO

import pytest
import redis
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from stream import sequencer
from stream.models import EventKind, StreamCursor, StreamEvent
from stream.outbox import POKE_CHANNEL, event_record
from stream.reader import decode_batch, events_since, latest_seq, oldest_seq
from stream.retention import events_prune
from stream.sequencer import EVENTS_CHANNEL, sequence_pending
from tests.factories import AccountFactory

# Transactional: on PostgreSQL a pass outside an atomic block is the batched one the hubs run.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def account():
    return AccountFactory(exchange_id="KRAKEN/SEQ")


def unpoked_event(account, message: str = "") -> StreamEvent:
    """A row as a writer killed right after its commit leaves it: committed, never poked."""
    return StreamEvent.objects.create(
        kind=EventKind.ACCOUNT, account_id=account.pk, ref_id=account.pk, message=message
    )


def test_an_event_committed_without_a_poke_is_numbered_on_the_next_pass(account):
    row = unpoked_event(account)
    (event,) = sequence_pending()
    row.refresh_from_db()
    assert row.seq == event.seq == latest_seq() == 1
    assert json.loads(event.message)["exchange_id"] == "KRAKEN/SEQ"
    assert event.message.startswith('{"seq": 1, "type": "SERVER_INFO", ')


def test_seqs_follow_each_other_across_passes_and_events_since_reads_them_back(account):
    for _ in range(3):
        unpoked_event(account)
    first = sequence_pending(limit=2)
    second = sequence_pending()
    assert [e.seq for e in first + second] == [1, 2, 3]
    assert events_since(0) == first + second
    assert events_since(2) == second
    assert events_since(0, limit=1) == first[:1]
    assert (oldest_seq(), latest_seq()) == (1, 3)


def test_nothing_pending_takes_no_number_and_writes_nothing(account):
    assert sequence_pending() == []
    assert latest_seq() == 0 and oldest_seq() is None


def test_a_batch_is_published_after_its_commit_as_the_reader_decodes_it(account, redis_broker):
    subscriber = redis_broker.pubsub()
    subscriber.subscribe(EVENTS_CHANNEL)
    subscriber.get_message(timeout=5)  # the subscription's confirmation
    unpoked_event(account)
    unpoked_event(account, message='{"type":"BALANCE_UPDATE","note":"tab\\there"}')
    events = sequence_pending()
    published = subscriber.get_message(timeout=5)
    subscriber.close()
    assert decode_batch(published["data"]) == events
    assert json.loads(events[1].message) == {
        "seq": 2,
        "type": "BALANCE_UPDATE",
        "note": "tab\there",
    }


def test_a_publish_that_fails_leaves_the_events_numbered_and_readable(account, monkeypatch):
    refused = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    monkeypatch.setattr(sequencer, "redis_client", lambda: refused)
    unpoked_event(account)
    (event,) = sequence_pending()
    assert events_since(0) == [event]
    assert not StreamEvent.objects.filter(seq__isnull=True).exists()


def test_an_event_whose_subject_is_gone_without_a_last_word_is_dropped_not_numbered(account):
    StreamEvent.objects.create(kind=EventKind.ORDER, account_id=account.pk, ref_id=999999)
    unpoked_event(account)
    (event,) = sequence_pending()
    assert event.seq == 1 and StreamEvent.objects.count() == 1


def test_the_cursor_row_is_made_again_when_it_is_missing(account):
    unpoked_event(account)
    sequence_pending()
    StreamCursor.objects.all().delete()
    unpoked_event(account)
    assert [event.seq for event in sequence_pending()] == [2]


@pytest.mark.django_db  # the on_commit callbacks, captured
def test_a_transaction_of_several_events_pokes_the_sequencer_once_when_it_commits(
    account, redis_broker, django_capture_on_commit_callbacks, settings
):
    settings.EMSWEB_STREAM_WRITERS_SEQUENCE = False
    subscriber = redis_broker.pubsub()
    subscriber.subscribe(POKE_CHANNEL)
    subscriber.get_message(timeout=5)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        event_record(kind=EventKind.ACCOUNT, account_id=account.pk, ref_id=account.pk)
        event_record(kind=EventKind.ACCOUNT, account_id=account.pk, ref_id=account.pk)
        assert subscriber.get_message(timeout=0.1) is None  # not before the commit
    assert len(callbacks) == 1
    assert subscriber.get_message(timeout=5)["channel"] == POKE_CHANNEL.encode()
    subscriber.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="writers' passes: PostgreSQL")
def test_on_postgresql_a_writer_numbers_its_own_events_after_its_commit_without_a_poke(
    account, redis_broker, settings
):
    settings.EMSWEB_STREAM_WRITERS_SEQUENCE = True
    subscriber = redis_broker.pubsub()
    subscriber.subscribe(POKE_CHANNEL, EVENTS_CHANNEL)
    for _ in range(2):
        subscriber.get_message(timeout=5)
    start = latest_seq()
    with transaction.atomic():
        event_record(kind=EventKind.ACCOUNT, account_id=account.pk, ref_id=account.pk)
        event_record(kind=EventKind.ACCOUNT, account_id=account.pk, ref_id=account.pk)
    published = subscriber.get_message(timeout=5)  # no pass here: the writer's thread ran it
    assert published["channel"] == EVENTS_CHANNEL.encode()
    assert [event.seq for event in decode_batch(published["data"])] == [start + 1, start + 2]
    assert subscriber.get_message(timeout=0.2) is None  # and nobody was poked
    subscriber.close()


def test_the_command_runs_one_pass(account):
    unpoked_event(account)
    out = StringIO()
    call_command("stream_sequence", stdout=out)
    assert out.getvalue().strip() == "numbered 1: seq 1-1"


def test_retention_removes_old_events_but_always_keeps_the_newest(account):
    for _ in range(3):
        unpoked_event(account)
    sequence_pending()
    StreamEvent.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert events_prune(keep_seconds=86400) == 2
    assert [event.seq for event in events_since(0)] == [3]
    assert (oldest_seq(), latest_seq()) == (3, 3)


def test_retention_never_leaves_a_hole_in_what_it_keeps(account):
    for _ in range(4):
        unpoked_event(account)
    sequence_pending()
    old = timezone.now() - timedelta(days=2)
    # seq 2 was written late but numbered early (a long transaction): young; 3 is old again.
    StreamEvent.objects.filter(seq__in=[1, 3]).update(created_at=old)
    assert events_prune(keep_seconds=86400) == 1
    assert [event.seq for event in events_since(0)] == [2, 3, 4]
