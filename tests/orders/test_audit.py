"""The audit log is written by the order services, once per action, whichever door called them."""

import pytest

from accounts.models import AuditEvent
from accounts.services import api_key_create
from orders.services import (
    OrderNotCancelable,
    OrderTicket,
    order_cancel,
    order_submit,
    orders_cancel_all,
    orders_kill_switch,
)
from tests.factories import (
    AccountFactory,
    OrderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory(username="tess")


def ticket(**fields) -> OrderTicket:
    values = {"client_order_id": "aud-1", "symbol": "BTCUSD", "side": "BUY"}
    return OrderTicket(**{**values, "amount": "0.05", "price": "49000", **fields})


def entries(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_a_submitted_order_is_recorded_with_its_user_and_address(account, user):
    order_submit(account=account, ticket=ticket(), user=user, ip="10.0.0.7")
    [placed] = entries("ORDER_PLACED")
    assert (placed.actor, placed.actor_name, placed.target, placed.ip) == (
        user, "tess", "aud-1", "10.0.0.7",
    )  # fmt: skip
    assert placed.detail.keys() == {"account", "side", "amount", "price"}


def test_its_numbers_read_plainly_not_at_the_eighteen_places_they_are_stored_with(account):
    order_submit(account=account, ticket=ticket(amount="0.050", price="49000.00"))
    [placed] = entries("ORDER_PLACED")
    assert placed.detail == {
        "account": "PAPER/TEST", "side": "BUY", "amount": "0.05", "price": "49000",
    }  # fmt: skip


def test_an_order_placed_with_an_api_key_names_the_keys_prefix(account, user):
    api_key, _ = api_key_create(user=user, label="script")
    order_submit(account=account, ticket=ticket(), user=user, api_key=api_key)
    [placed] = entries("ORDER_PLACED")
    assert placed.actor == user and placed.detail["api_key"] == api_key.prefix


def test_a_retried_submit_that_returns_the_same_order_is_not_recorded_again(account, user):
    order_submit(account=account, ticket=ticket(), user=user, request_hash="h")
    order_submit(account=account, ticket=ticket(), user=user, request_hash="h")
    assert len(entries("ORDER_PLACED")) == 1


def test_a_cancel_is_recorded_with_the_key_that_asked(account, user):
    api_key, _ = api_key_create(user=user, label="script")
    order = OrderFactory(account=account, status="NEW", client_order_id="to-cancel")
    order_cancel(order=order, user=user, api_key=api_key, ip="10.0.0.8")
    [canceled] = entries("ORDER_CANCEL")
    assert (canceled.actor, canceled.target, canceled.ip) == (user, "to-cancel", "10.0.0.8")
    assert canceled.detail == {"api_key": api_key.prefix}
    order.refresh_from_db()
    assert order.canceled_with_key == api_key


def test_a_cancel_refused_is_not_recorded_as_a_cancel(account, user):
    order = OrderFactory(account=account, status="FILLED")
    with pytest.raises(OrderNotCancelable):
        order_cancel(order=order, user=user)
    assert not entries("ORDER_CANCEL")


def test_cancel_all_is_one_entry_with_its_count_whatever_state_its_orders_were_in(account, user):
    for status in ("RECEIVED", "ROUTING", "NEW", "PARTIALLY_FILLED"):
        OrderFactory(account=account, status=status)
    assert orders_cancel_all(account=account, user=user) == 4
    [cancel_all] = entries("CANCEL_ALL")
    assert (cancel_all.actor, cancel_all.target, cancel_all.detail) == (
        user, "PAPER/TEST", {"orders": "4"},
    )  # fmt: skip
    assert not entries("ORDER_CANCEL")


def test_the_kill_switch_is_one_entry_naming_every_account(account, user):
    other = AccountFactory(exchange_id="PAPER/OTHER", tag="OTHER")
    OrderFactory(account=account, status="NEW")
    OrderFactory(account=other, status="RECEIVED")
    assert orders_kill_switch(accounts=[account, other], user=user) == 2
    [kill] = entries("KILL_SWITCH")
    assert (kill.actor, kill.target, kill.detail) == (
        user, "PAPER/TEST, PAPER/OTHER", {"orders": "2"},
    )  # fmt: skip
    assert not entries("CANCEL_ALL") and not entries("ORDER_CANCEL")


def test_an_order_placed_from_the_shell_is_recorded_without_a_user(account):
    order_submit(account=account, ticket=ticket())
    [placed] = entries("ORDER_PLACED")
    assert placed.actor is None and placed.target == "aud-1"


# --- the doors: each records through the service, once -----------------------------------------


def test_each_action_on_the_desks_pages_is_recorded_once_with_the_address(account, admin_client):
    ticket_form = {
        "account": account.pk, "symbol": "BTC/USD", "side": "BUY", "amount": "0.05",
        "price": "49000", "time_in_force": "GOOD_TILL_CANCEL", "client_order_id": "web",
    }  # fmt: skip
    admin_client.post("/orders/ticket/submit/", ticket_form)
    working = OrderFactory(account=account, status="NEW", client_order_id="web-cancel")
    admin_client.post(f"/orders/{working.pk}/cancel/")
    admin_client.post(f"/orders/blotter/cancel-all/{account.pk}/")
    admin_client.post("/orders/blotter/kill-switch/", {"confirm": "CANCEL ALL"})
    recorded = list(AuditEvent.objects.order_by("id").values_list("action", "target", "ip"))
    assert recorded == [
        ("ORDER_PLACED", "web", "127.0.0.1"),
        ("ORDER_CANCEL", "web-cancel", "127.0.0.1"),
        ("CANCEL_ALL", "PAPER/TEST", "127.0.0.1"),
        ("TRADING_STATE", "desk", "127.0.0.1"),  # an admin's kill switch halts the desk first
        ("KILL_SWITCH", "PAPER/TEST", "127.0.0.1"),
    ]


def test_the_admins_cancel_action_records_each_order_it_canceled(account, admin_client, admin_user):
    working = [OrderFactory(account=account, status="NEW") for _ in range(2)]
    filled = OrderFactory(account=account, status="FILLED")
    admin_client.post(
        "/admin/orders/order/",
        {"action": "cancel_orders", "_selected_action": [o.pk for o in [*working, filled]]},
    )
    canceled = entries("ORDER_CANCEL")
    assert {entry.target for entry in canceled} == {order.client_order_id for order in working}
    assert {(entry.actor, entry.ip) for entry in canceled} == {(admin_user, "127.0.0.1")}
