"""Balances and an account's state in the stream: one event per balance row that changes (added,
updated or removed), and one per change of an account's connection, alert or enabled state."""

import json
from decimal import Decimal

import pytest

from accounts.models import Balance
from accounts.services import (
    account_alert_raise,
    account_remove,
    account_sync_record,
    balances_record,
)
from stream.models import EventKind
from stream.sequencer import sequence_pending
from tests.factories import AccountFactory
from venues.base import VenueBalance

pytestmark = pytest.mark.django_db


def messages() -> list[dict]:
    return [json.loads(event.message, parse_float=Decimal) for event in sequence_pending()]


def test_each_balance_row_that_changes_is_one_balance_update_and_the_others_none():
    account = AccountFactory(exchange_id="KRAKEN/A")
    usd = VenueBalance("ZUSD", Decimal(10), Decimal(8), Decimal(2), asset_common="USD")
    btc = VenueBalance("XXBT", Decimal(1), Decimal(1), Decimal(0), asset_common="BTC")
    balances_record(account=account, balances=[usd, btc])
    assert {m["asset_id_exchange"] for m in messages()} == {"ZUSD", "XXBT"}

    balances_record(account=account, balances=[usd, btc])
    assert messages() == []

    usd = VenueBalance("ZUSD", Decimal(10), Decimal(5), Decimal(5), asset_common="USD")
    balances_record(account=account, balances=[usd, btc])
    (message,) = messages()
    assert message == {
        "seq": message["seq"],
        "type": "BALANCE_UPDATE",
        "exchange_id": "KRAKEN/A",
        "asset_id_exchange": "ZUSD",
        "asset_id_coinapi": "USD",
        "balance": 10,
        "available": 5,
        "locked": 5,
        "last_updated_by": "EXCHANGE",
        "rate_usd": None,
    }
    assert list(message)[:2] == ["seq", "type"]


def test_a_balance_the_venue_no_longer_lists_is_announced_as_nothing_held_and_removed():
    account = AccountFactory(exchange_id="KRAKEN/B")
    btc = VenueBalance("XXBT", Decimal(1), Decimal(1), Decimal(0), asset_common="BTC")
    balances_record(account=account, balances=[btc])
    messages()
    balances_record(account=account, balances=[])
    (message,) = messages()
    assert (message["asset_id_exchange"], message["balance"], message["available"]) == (
        "XXBT", 0, 0
    )  # fmt: skip
    assert not Balance.objects.filter(account=account).exists()


def test_an_accounts_connection_is_an_event_when_it_changes_not_on_every_sync():
    account = AccountFactory(exchange_id="KRAKEN/C")
    account_sync_record(account=account, error=None)
    (message,) = messages()
    assert message == {
        "seq": message["seq"],
        "type": "SERVER_INFO",
        "exchange_id": "KRAKEN/C",
        "is_running": True,
        "connection": "CONNECTED",
        "error": None,
        "alert": None,
        "trading": "ACTIVE",
    }
    account_sync_record(account=account, error=None)
    assert messages() == []

    account_sync_record(account=account, error="Exchange is unreachable")
    account_sync_record(account=account, error="Exchange is unreachable")
    (message,) = messages()
    assert (message["is_running"], message["connection"]) == (False, "ERROR")
    assert message["error"] == "Exchange is unreachable"


def test_an_alert_is_an_event_once_and_not_on_each_repeat():
    account = AccountFactory(exchange_id="KRAKEN/D")
    for _ in range(2):
        account_alert_raise(exchange_id="KRAKEN/D", venue="KRAKEN", kind="AUTH", message="no")
    (message,) = messages()
    assert message["alert"].startswith("Key refused: no")
    assert message["exchange_id"] == account.exchange_id


def test_an_account_unlinked_is_disabled_or_removed_in_the_stream():
    account = AccountFactory(exchange_id="KRAKEN/E")
    account_remove(account=account)
    (event,) = sequence_pending()
    assert event.kind == EventKind.ACCOUNT
    assert json.loads(event.message)["connection"] == "REMOVED"
