"""Across accounts: each slice goes to the account with the best price for its side, within
its balance and limits; the parent's fills say where each part went."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from algos.models import ParentSlice
from algos.selectors import parent_fills, parent_progress
from orders.instruments import instruments_refresh
from orders.models import Instrument
from tests.algos.conftest import linked, run, step, twap
from venues.paper import engine


@pytest.fixture
def two_venues(account):
    instruments_refresh(venue="PAPER2")
    second = linked("PAPER2/ALGO")
    return account, second


def test_each_slice_goes_to_the_account_with_the_better_price_at_that_moment(two_venues):
    first, second = two_venues
    engine.market_set_mid("BTCUSD", Decimal(50000))
    engine.market_set_mid("BTCUSD.2", Decimal(49900))  # PAPER2 sells cheaper
    start = timezone.now()
    parent = twap([first, second], amount="0.4", duration=120, interval=30, now=start)
    step(parent, start)
    step(parent, start + timedelta(seconds=30))
    engine.market_set_mid("BTCUSD.2", Decimal(50200))  # now PAPER is cheaper
    run(parent, start + timedelta(seconds=60), 60)

    went = list(
        ParentSlice.objects.filter(parent=parent).values_list("account__exchange_id", flat=True)
    )
    assert went == ["PAPER2/ALGO", "PAPER2/ALGO", "PAPER/ALGO", "PAPER/ALGO"]
    assert parent_progress(parent).by_account == {
        "PAPER2/ALGO": Decimal("0.2"),
        "PAPER/ALGO": Decimal("0.2"),
    }
    prices = {f.order.account.exchange_id: f.price for f in parent_fills(parent)}
    assert prices["PAPER2/ALGO"] < Decimal(50000) < prices["PAPER/ALGO"]


def test_a_sell_goes_to_the_higher_bid(two_venues):
    first, second = two_venues
    engine.market_set_mid("BTCUSD", Decimal(50000))
    engine.market_set_mid("BTCUSD.2", Decimal(50300))
    start = timezone.now()
    parent = twap([first, second], side="SELL", amount="0.2", duration=60, interval=30, now=start)
    step(parent, start)
    assert ParentSlice.objects.get(parent=parent, number=0).account == second


def test_an_account_without_the_balance_for_the_slice_is_passed_over(two_venues):
    first, second = two_venues
    engine.market_set_mid("BTCUSD", Decimal(50000))
    engine.market_set_mid("BTCUSD.2", Decimal(49000))
    start = timezone.now()
    # 3 BTC in one slice: PAPER2 holds 100,000 USD, enough for about 2 at 49,000; it takes
    # what it can pay for, and the rest is for the next slice.
    parent = twap([first, second], amount="3", duration=60, interval=60, now=start)
    step(parent, start)
    row = ParentSlice.objects.get(parent=parent, number=0)
    assert row.account == second
    assert Decimal("1.9") < row.amount < Decimal("2.1")


def test_paper2_is_its_own_venue_with_the_plain_market_names(two_venues):
    on_paper2 = Instrument.objects.filter(venue="PAPER2")
    names = set(on_paper2.values_list("symbol_id_exchange", flat=True))
    assert "BTCUSD" in names and not any(name.endswith(".2") for name in names)
    assert not Instrument.objects.filter(venue="PAPER", symbol_id_exchange__endswith=".2").exists()
