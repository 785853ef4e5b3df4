"""A derivatives venue's positions on the ccxt path (the simulated Binance USDⓈ-M futures): the
position its fills build is recorded by the sync and agrees with the desk's fills (the checker
extended to positions); a position moved behind emsweb's back (a liquidation) raises the
account's alert once read twice; a fill counted twice is a violation the checker names."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import AlertKind, ExchangeAccount
from orders.models import Fill
from orders.services import order_route
from orders.sync import account_sync
from positions.models import Position
from tests.reliability.ccxt_venue import ccxt_fake_fixture, sim_account, sim_submit  # noqa: F401
from tests.reliability.conftest import assert_invariants, check_invariants
from tests.venues.conftest import ccxt_settings, fake  # noqa: F401

D = Decimal
pytestmark = pytest.mark.django_db
VENUE = "BINANCEFTS"


def traded(ccxt_fake):
    sim, account = sim_account(ccxt_fake, VENUE)
    order = sim_submit(account, "perp-buy", amount="0.02")
    order_route(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == "NEW", f"{order.status}: {order.error_message}"
    held = sim.held(order.client_order_id_format_exchange)
    sim.fill(held, "0.005")
    sim.fill(held, "0.015")
    account_sync(account_id=account.pk)
    account_sync(account_id=account.pk)
    return sim, account, order


def test_the_position_the_fills_build_is_recorded_and_agrees_with_them(ccxt_fake):
    sim, account, order = traded(ccxt_fake)

    row = Position.objects.get(account=account, symbol_id_exchange="BTCUSDT")
    assert row.size == sim.position() == D("0.02")
    assert row.symbol_id_coinapi == "BINANCEFTS_PERP_BTC_USDT"
    assert (row.leverage, row.cross) == (D(10), True)
    assert ExchangeAccount.objects.get(pk=account.pk).alert_kind == ""
    assert_invariants(account)


def test_a_position_moved_behind_emswebs_back_raises_the_alert_and_the_checker_holds(ccxt_fake):
    sim, account, order = traded(ccxt_fake)
    sim.move_by_hand("-0.02")  # liquidated

    account_sync(account_id=account.pk)
    assert ExchangeAccount.objects.get(pk=account.pk).alert_kind == ""  # once: wait
    account_sync(account_id=account.pk)

    fresh = ExchangeAccount.objects.get(pk=account.pk)
    assert fresh.alert_kind == AlertKind.POSITION
    assert "BINANCEFTS_PERP_BTC_USDT" in fresh.alert and "-0.02" in fresh.alert
    assert Position.objects.get(account=account, symbol_id_exchange="BTCUSDT").size == 0
    assert_invariants(account)  # the move is known: the agreed gap explains it


def test_a_fill_counted_twice_is_a_violation_the_checker_names(ccxt_fake):
    sim, account, order = traded(ccxt_fake)
    Fill.objects.create(
        order=order, trade_id="counted-again", time=timezone.now(), price=D(50000),
        amount=D("0.005"),
    )  # fmt: skip

    violations = "\n".join(check_invariants(account))
    assert "position BTCUSDT: the desk's fills explain 0.025, the venue holds 0.02" in violations
