"""An order's entry takes the market's, the account's and the funding balance's locks in one
statement (venues.paper.ledger.lock_for_entry). A change that held them meanwhile is seen as it
committed, never overwritten with what the entry read before it waited. PostgreSQL only."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import F

from tests.paper.helpers import ACCOUNT_KEY, holding, intent
from venues.errors import Rejected
from venues.paper import engine, ledger
from venues.paper.models import PaperBalance

pytestmark = pytest.mark.django_db(transaction=True)


def another_entry_takes_every_dollar(held: threading.Event, failures: list) -> None:
    """What another worker's entry does: lock, reserve the whole USD balance, and commit only
    once someone waits for its locks."""
    try:
        with transaction.atomic():
            account = engine.account_get(ACCOUNT_KEY)
            assert ledger.lock_for_entry("BTCUSD", account.pk, "USD") is not None
            PaperBalance.objects.filter(account=account, asset="USD").update(locked=F("total"))
            held.set()
            give_up = time.monotonic() + 10
            while not someone_waits_for_a_lock():
                assert time.monotonic() < give_up, "the entry never waited for the locks"
                time.sleep(0.02)
    except Exception as problem:  # noqa: BLE001 - reported by the test
        failures.append(problem)
        held.set()
    finally:
        connection.close()


def someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_an_entry_that_waited_for_the_account_sees_the_funds_as_the_holder_left_them(venue):
    if connection.vendor != "postgresql":
        pytest.skip("row locks")
    venue.submit(intent(amount="0.1", price="49000"))  # the market and the balances exist
    account = engine.account_get(ACCOUNT_KEY)
    held, failures = threading.Event(), []
    holder = threading.Thread(target=another_entry_takes_every_dollar, args=(held, failures))
    holder.start()
    held.wait(10)
    try:
        with pytest.raises(Rejected, match="Insufficient funds"):
            # The engine itself: the adapter's request log would wait for the account first.
            engine.order_submit(ACCOUNT_KEY, intent(amount="0.1", price="49000"), account=account)
    finally:
        holder.join(20)
    assert not failures, failures
    usd = holding("USD")
    assert usd.locked == usd.total  # the holder's reservation stands, none added on top
