"""An account's balances replaced by the venue's snapshot (accounts.services.balances_record)."""

from decimal import Decimal

import pytest

import venues.base
from accounts.models import Balance, LastUpdatedBy
from accounts.services import balances_record
from tests.factories import AccountFactory, BalanceFactory
from venues.base import VenueBalance

pytestmark = pytest.mark.django_db


def test_a_snapshot_replaces_the_rows_and_says_the_exchange_wrote_them_last():
    account = AccountFactory()
    gone = BalanceFactory(account=account, asset_id_exchange="XXBT")
    assert gone.last_updated_by == LastUpdatedBy.INITIALIZATION
    snapshot = VenueBalance("ZUSD", Decimal(10), Decimal(8), Decimal(2), asset_common="USD")

    balances_record(account=account, balances=[snapshot])

    (usd,) = Balance.objects.filter(account=account)
    assert (usd.asset_id_exchange, usd.asset_id_coinapi) == ("ZUSD", "USD")
    assert (usd.balance, usd.available, usd.locked) == (10, 8, 2)
    assert usd.last_updated_by == LastUpdatedBy.EXCHANGE
    account.refresh_from_db()
    assert account.balances_synced_at is not None


def test_who_wrote_a_balance_row_is_the_desks_record_not_the_venue_boundarys_vocabulary():
    assert LastUpdatedBy.__module__ == "accounts.models"
    assert not hasattr(venues.base, "LastUpdatedBy")
