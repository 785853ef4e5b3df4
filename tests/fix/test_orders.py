"""Orders over FIX with a real QuickFIX initiator, on the paper exchange with a real worker:
entry, a fill, a cancel, mass cancel, the status request, and a drop copy of /v1's orders."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.models import AuditEvent, DeskMember, DeskRole
from accounts.services import api_key_create
from fix.translate import timestamp
from orders.models import Order
from risk.models import RiskLimits
from risk.services import risk_limits_save
from tests.conftest import wait_for
from tests.factories import UserFactory
from tests.fix.conftest import ACCOUNT

pytestmark = [pytest.mark.pipeline]


def new_order(
    client_order_id: str, *, price: str = "49000", side: str = "1", extra: dict | None = None
) -> dict:
    return {
        11: client_order_id, 100: ACCOUNT, 55: "BTCUSD", 54: side, 60: timestamp(),
        38: "0.1", 40: "2", 44: price, 59: "1", **(extra or {}),
    }  # fmt: skip


def test_an_order_is_acknowledged_then_canceled_and_its_status_asked(account, trading_key, connect):
    api_key, key = trading_key
    oms = connect(api_key, key)
    oms.send("D", new_order("fix-1"))
    [ack] = oms.application.expect("8", _150="0", _11="fix-1")
    assert ack[39] == "0" and ack[37] == "fix-1" and ack[198]  # OrderID, SecondaryOrderID
    assert ack[14] == "0" and ack[151] == "0.1" and ack[207] == ACCOUNT
    order = Order.objects.get(client_order_id="fix-1")
    assert order.created_with_key == api_key

    oms.send("H", {11: "fix-1", 55: "BTCUSD", 54: "1"})
    [status] = oms.application.expect("8", _150="I")
    assert status[39] == "0" and status[37] == "fix-1"

    oms.send("F", {41: "fix-1", 11: "cancel-1", 55: "BTCUSD", 54: "1", 60: timestamp(),
                   38: "0.1", 207: ACCOUNT})  # fmt: skip
    oms.application.expect("8", _150="6", _11="fix-1")
    [canceled] = oms.application.expect("8", _150="4", _11="fix-1")
    assert canceled[39] == "4" and canceled[151] == "0"


def test_a_marketable_order_is_acknowledged_and_filled_with_last_qty_and_price(
    account, trading_key, connect
):
    api_key, key = trading_key
    oms = connect(api_key, key, begin_string="FIXT.1.1")
    oms.send("D", new_order("fix-take", price="51000"))
    oms.application.expect("8", _150="0", _11="fix-take")
    fills = oms.application.expect("8", _150="F", _11="fix-take")
    assert fills[-1][39] == "2" and fills[-1][14] == "0.1" and fills[-1][151] == "0"
    assert sum(float(fill[32]) for fill in fills) == pytest.approx(0.1)
    assert all(50000 < float(fill[31]) <= 51000 for fill in fills)


def test_mass_cancel_cancels_every_open_order_of_the_account(account, trading_key, connect):
    api_key, key = trading_key
    oms = connect(api_key, key)
    for n in range(2):
        oms.send("D", new_order(f"mass-{n}", price=str(48000 - n)))
    oms.application.expect("8", count=2, _150="0")
    oms.send("q", {11: "mass", 530: "7", 60: timestamp(), 207: ACCOUNT})
    [report] = oms.application.expect("r")
    assert report[531] == "7" and report[533] == "2"
    oms.application.expect("8", count=2, _150="4")


def test_a_refused_order_and_an_unknown_cancel_are_answered_and_change_nothing(
    account, trading_key, connect
):
    api_key, key = trading_key
    oms = connect(api_key, key)
    oms.send("D", new_order("fix-bad", extra={100: "PAPER/NOPE"}))
    [rejected] = oms.application.expect("8", _150="8", _11="fix-bad")
    assert "exchange_id" in rejected[58]
    oms.send("F", {41: "nope", 11: "cancel-nope", 55: "BTCUSD", 54: "1", 60: timestamp(),
                   38: "0.1", 207: ACCOUNT})  # fmt: skip
    [reject] = oms.application.expect("9")
    assert reject[102] == "1" and reject[434] == "1"
    assert not Order.objects.exists()


def test_a_risk_limit_refuses_a_fix_order_as_it_does_a_v1_one(account, trading_key, connect):
    admin = UserFactory(username="boss")
    DeskMember.objects.create(user=admin, role=DeskRole.ADMIN)
    limits = RiskLimits(max_order_notional_usd=1000)  # the desk's
    risk_limits_save(limits=limits, user=admin, changed=["max_order_notional_usd"])
    api_key, key = trading_key
    oms = connect(api_key, key)
    oms.send("D", new_order("fix-big"))  # 0.1 at 49000: 4900 USD
    [refused] = oms.application.expect("8", _150="8", _11="fix-big")
    assert refused[58] == (
        "amount_order: Max notional of one order for the desk: 1000 USD; this order is 4900 USD."
    )
    assert not Order.objects.filter(client_order_id="fix-big").exists()
    [entry] = AuditEvent.objects.filter(action="RISK_REFUSED")
    assert entry.detail["limits"] == "max_order_notional_usd" and entry.detail["api_key"]


def test_a_read_only_key_gets_a_drop_copy_of_an_order_placed_through_v1(
    account, trader, connect, api
):
    api_key, key = api_key_create(user=trader, label="compliance", read_only=True)
    compliance = connect(api_key, key, name="compliance")
    response = api.post("/v1/orders", {
        "exchange_id": ACCOUNT, "client_order_id": "rest-1", "symbol_id_exchange": "BTCUSD",
        "amount_order": 0.1, "price": 49000, "side": "BUY", "order_type": "LIMIT",
        "time_in_force": "GOOD_TILL_CANCEL",
    })  # fmt: skip
    assert response.status_code == 200
    [copy] = compliance.application.expect("8", _150="0", _11="rest-1")
    assert copy[39] == "0"
    compliance.send("D", new_order("compliance-1"))
    [refused] = compliance.application.expect("8", _150="8", _11="compliance-1")
    assert "read-only" in refused[58]


def test_cancel_on_system_failure_cancels_the_order_once_the_session_is_gone(
    account, trading_key, connect
):
    api_key, key = trading_key
    oms = connect(api_key, key)
    oms.send("D", new_order("cod-1", extra={18: "Q"}))
    [ack] = oms.application.expect("8", _150="0", _11="cod-1")
    assert ack[18] == "Q"
    order = Order.objects.get(client_order_id="cod-1")
    assert order.cancel_on_disconnect_key == api_key
    oms.stop()  # the session ends: after the grace period, its orders are canceled
    grace = settings.EMSWEB_CANCEL_ON_DISCONNECT_GRACE
    wait_for(
        lambda: Order.objects.get(pk=order.pk).status == "CANCELED",
        timeout=grace + 20,
        what="the cancel on disconnect",
    )
