from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services import OrderInvalid, OrderTicket, order_submit
from tests.factories import AccountFactory, InstrumentFactory

pytestmark = pytest.mark.django_db


def ticket(**fields):
    values = {
        "client_order_id": "c-1",
        "symbol": "PAPER_SPOT_BTC_USD",
        "side": "BUY",
        "amount": "0.5",
        "price": "40000",
    }
    return OrderTicket(**{**values, **fields})


def errors_of(account, **fields):
    with pytest.raises(OrderInvalid) as invalid:
        order_submit(account=account, ticket=ticket(**fields))
    assert not Order.objects.exists()
    return invalid.value.errors


def test_a_valid_ticket_is_recorded_as_received_with_its_first_history_row(account):
    order = order_submit(account=account, ticket=ticket())
    assert order.status == "RECEIVED"
    assert order.amount_open == Decimal("0.5")
    assert list(order.events.values_list("status", flat=True)) == ["RECEIVED"]


def test_the_exchange_symbol_finds_the_instrument_too(account):
    assert order_submit(account=account, ticket=ticket(symbol="BTC/USD")).instrument.base == "BTC"


def test_prices_round_toward_the_safe_side_and_say_so(account):
    buy = order_submit(account=account, ticket=ticket(price="40000.19", amount="0.12345"))
    sell = order_submit(
        account=account, ticket=ticket(client_order_id="c-2", side="SELL", price="40000.11")
    )
    assert buy.price == Decimal("40000.1") and buy.amount_order == Decimal("0.1234")
    assert sell.price == Decimal("40000.2")
    assert "rounded" in buy.events.get().note


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": "0"}, "amount_order"),
        ({"amount": "-1"}, "amount_order"),
        ({"amount": "NaN"}, "amount_order"),
        ({"amount": "1e400"}, "amount_order"),
        ({"amount": "0.00001"}, "amount_order"),
        ({"amount": "0.0001", "price": "100"}, "amount_order"),
        ({"price": "0.01"}, "price"),
        ({"price": "abc"}, "price"),
        ({"side": "HOLD"}, "side"),
        ({"symbol": "PAPER_SPOT_DOGE_USD"}, "symbol_id_exchange"),
        ({"time_in_force": "FOREVER"}, "time_in_force"),
        ({"time_in_force": "GOOD_TILL_TIME_EXCHANGE"}, "expire_time"),
        ({"exec_inst": ("AUCTION_ONLY",)}, "exec_inst"),
        ({"exec_inst": ("MAKER_OR_CANCEL",), "time_in_force": "IMMEDIATE_OR_CANCEL"}, "exec_inst"),
        ({"order_type": "MARKET"}, "order_type"),
        ({"client_order_id": ""}, "client_order_id"),
        ({"amount": "3"}, "amount_order"),  # 120,000 USD > 100,000 available
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(account, fields, field):
    assert field in errors_of(account, **fields)


def test_a_sell_needs_the_base_asset(account):
    assert "Insufficient funds" in errors_of(account, side="SELL", amount="2.5")["amount_order"][0]


def test_an_expiry_in_the_past_is_refused(account):
    past = timezone.now() - timedelta(minutes=1)
    assert "expire_time" in errors_of(account, time_in_force="GOOD_TILL_TIME_OMS", expire_time=past)


def test_a_disabled_account_cannot_trade(account):
    account.enabled = False
    account.save()
    assert "exchange_id" in errors_of(account)


def test_the_same_request_again_returns_the_same_order(account):
    first = order_submit(account=account, ticket=ticket(), request_hash="h1")
    again = order_submit(account=account, ticket=ticket(), request_hash="h1")
    assert again.pk == first.pk
    assert Order.objects.count() == 1


def test_a_different_request_with_a_used_client_order_id_is_refused(account):
    order_submit(account=account, ticket=ticket(), request_hash="h1")
    with pytest.raises(OrderInvalid) as invalid:
        order_submit(account=account, ticket=ticket(price="39000"), request_hash="h2")
    assert "client_order_id" in invalid.value.errors
    assert Order.objects.count() == 1


def test_balances_never_read_refuse_an_order_as_not_known_yet_never_as_zero():
    account = AccountFactory()
    InstrumentFactory()
    assert errors_of(account) == {
        "exchange_id": [
            "The balances of PAPER/TEST are not known yet: no sync has read them since the "
            "account was linked. Try again in a few seconds."
        ]
    }


def test_a_submit_that_committed_stands_when_the_broker_and_redis_are_down(
    account, monkeypatch, django_capture_on_commit_callbacks
):
    """The order is recorded before anything is queued: a broker that refuses the routing task
    (Redis restarting) must not turn that into an error for an order that exists. The sweeper
    queues it again."""
    from kombu.exceptions import OperationalError

    from orders import changes, tasks
    from stream import outbox

    def refused(*args, **kwargs):
        raise OperationalError("Error 111 connecting to the broker. Connection refused.")

    monkeypatch.setattr(tasks.route_order, "delay", refused)
    monkeypatch.setattr(changes, "redis_client", refused)
    monkeypatch.setattr(outbox, "redis_client", refused)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        order = order_submit(account=account, ticket=ticket())
    # The stream's poke, the blotter's change counter and the routing task.
    assert len(callbacks) == 3
    assert Order.objects.get().pk == order.pk and order.status == "RECEIVED"
