"""What the desk may still commit of a balance: the venue's available as of the last balance
read, less what the desk's own orders sent since that read hold. The submit checks it and the
ticket shows it (tests/web/test_ticket_available.py)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import ExchangeAccount
from orders.models import Order
from orders.selectors import JSONListHas
from orders.services import OrderInvalid, OrderTicket, order_submit
from tests.factories import AccountFactory, BalanceFactory, InstrumentFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def read_at():
    return timezone.now() - timedelta(seconds=5)


@pytest.fixture
def account(read_at):
    account = AccountFactory()
    InstrumentFactory()
    BalanceFactory(account=account, asset_id_exchange="USD", available=Decimal("100000"))
    BalanceFactory(account=account, asset_id_exchange="BTC", available=Decimal("2"))
    ExchangeAccount.objects.filter(pk=account.pk).update(balances_synced_at=read_at)
    return account


def ticket(client_order_id: str, side="BUY", amount="0.5", price="40000") -> OrderTicket:
    return OrderTicket(
        client_order_id=client_order_id,
        symbol="PAPER_SPOT_BTC_USD",
        side=side,
        amount=amount,
        price=price,
    )


def a_buy_of_one_btc_at_50000(account, **fields) -> Order:
    return OrderFactory(
        account=account, amount_order=Decimal("1"), price=Decimal("50000"), **fields
    )


def refusal_of(account, order_ticket: OrderTicket) -> dict[str, list[str]]:
    with pytest.raises(OrderInvalid) as invalid:
        order_submit(account=account, ticket=order_ticket)
    assert not Order.objects.filter(client_order_id=order_ticket.client_order_id).exists()
    return invalid.value.errors


def test_an_order_placed_since_the_last_read_holds_its_notional(account):
    order_submit(account=account, ticket=ticket("first"))  # 20,000 USD
    errors = refusal_of(account, ticket("second", amount="2.1"))  # 84,000 USD
    assert errors["amount_order"] == ["Insufficient funds: needs 84000 USD, 80000 available."]
    order_submit(account=account, ticket=ticket("third", amount="2"))  # exactly what is left


def test_a_sell_placed_since_the_last_read_holds_its_base_asset(account):
    order_submit(account=account, ticket=ticket("first", side="SELL", amount="1.5"))
    errors = refusal_of(account, ticket("second", side="SELL", amount="1"))
    assert errors["amount_order"] == ["Insufficient funds: needs 1 BTC, 0.5 available."]


def test_an_order_the_venue_had_when_it_read_the_balances_is_not_counted_twice(account, read_at):
    before = read_at - timedelta(seconds=1)
    a_buy_of_one_btc_at_50000(account, status="NEW", routing_started_at=before, updated_at=before)
    order_submit(account=account, ticket=ticket("all-of-it", amount="2.5"))  # 100,000 USD


def test_an_order_sent_since_the_read_holds_what_it_filled_and_what_is_still_open(account, read_at):
    sent = read_at + timedelta(seconds=1)
    placed = {"account": account, "routing_started_at": sent, "updated_at": sent}
    # Filled: 30,000 USD spent. Canceled after half filled: 20,000 spent, the rest released.
    # Rejected: nothing. Partly filled and working: 10,000 spent and 10,000 still locked.
    OrderFactory(**placed, status="FILLED", amount_open=0, amount_filled=1, avg_px=Decimal("30000"))
    OrderFactory(
        **placed, status="CANCELED", amount_open=Decimal("0.5"), amount_filled=Decimal("0.5"),
        avg_px=Decimal("40000"),
    )  # fmt: skip
    OrderFactory(**placed, status="REJECTED")
    OrderFactory(
        **placed, status="PARTIALLY_FILLED", price=Decimal("20000"),
        amount_open=Decimal("0.5"), amount_filled=Decimal("0.5"), avg_px=Decimal("20000"),
    )  # fmt: skip
    errors = refusal_of(account, ticket("next", amount="0.8"))  # 32,000 USD
    assert errors["amount_order"] == ["Insufficient funds: needs 32000 USD, 30000 available."]


def test_an_order_not_sent_yet_holds_its_notional_however_old(account, read_at):
    a_buy_of_one_btc_at_50000(account, status="RECEIVED", created_at=read_at - timedelta(minutes=1))
    errors = refusal_of(account, ticket("next", amount="1.5"))  # 60,000 USD
    assert errors["amount_order"] == ["Insufficient funds: needs 60000 USD, 50000 available."]


@pytest.mark.parametrize(
    "exec_inst",
    [[], ["DO_NOT_INCREASE"], ["MAKER_OR_CANCEL"], ["MAKER_OR_CANCEL", "DO_NOT_INCREASE"]],
)
def test_the_reduce_only_test_in_sql_says_what_python_says_of_the_list(account, exec_inst):
    OrderFactory(account=account, exec_inst=exec_inst)
    row = Order.objects.values("exec_inst", has=JSONListHas("exec_inst", "DO_NOT_INCREASE")).get()
    assert row["has"] is ("DO_NOT_INCREASE" in row["exec_inst"])
    assert Order.objects.filter(JSONListHas("exec_inst", "MAKER_OR_CANCEL")).exists() is (
        "MAKER_OR_CANCEL" in exec_inst
    )
