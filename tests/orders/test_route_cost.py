"""What routing one order costs in statements, and that writing an order with its history rows
in one statement (orders.writes) is still all or nothing. Before (bench/README.md): 19
statements in 3 transactions on PostgreSQL, then 10, then 7."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import account_link
from orders.instruments import instruments_refresh
from orders.models import Order
from orders.quotes import quotes_refresh
from orders.services import OrderTicket, order_cancel, order_route, order_submit
from orders.sync import account_sync
from orders.writes import Guard, order_insert, order_write
from risk.models import RiskLimits
from risk.rules import rules_changed
from venues.base import OrdStatus as S
from venues.paper import engine
from venues.paper.adapter import PaperVenue

# Read the order; claim it; the paper venue (its account and the request log, then in one
# transaction the market's, the account's and its balance's locks, then the order with what it
# reserves from the balance); the report, which also says whether a cancel was asked for
# meanwhile. On PostgreSQL the account and the log are one statement, the locks one, the order
# and its reservation one, the claim and the report one each; on SQLite the account and the log
# are two, the locks three, the order and the balance two, the claim and the report three each
# (the order, its history rows, its stream event). Transaction control is not counted.
STATEMENTS = {"postgresql": 6, "sqlite": 14}
TRANSACTION = {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}
EVERY_LIMIT = {
    "max_order_notional_usd": Decimal("100000"),
    "max_working_orders": 100,
    "max_orders_per_second": 100,
    "max_orders_per_minute": 1000,
    "max_daily_notional_usd": Decimal("10000000"),
    "price_band_percent": Decimal("50"),
    "allowed_instruments": "BTC/USD",
    "denied_instruments": "ETH/USD",
}


@pytest.fixture
def account(db):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    account, _ = account_link(exchange_id="PAPER/COST", parameters={})
    account_sync(account_id=account.pk)  # balances, and the trading gate open
    return account


@pytest.fixture
def paper_quotes(redis_broker):
    """The paper venue's quotes, as the beat task keeps them: the price band's reference."""
    quotes_refresh(venue="PAPER")
    yield
    redis_broker.delete("emsweb:quotes:PAPER")


def submit(account, client_order_id: str, **fields) -> Order:
    values = {"symbol": "BTCUSD", "side": "BUY", "amount": "0.01", "price": "40000"}
    ticket = OrderTicket(client_order_id=client_order_id, **{**values, **fields})
    return order_submit(account=account, ticket=ticket)


def statements_of_routing(order: Order) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        order_route(order_id=order.pk)
    return [q["sql"] for q in queries if q["sql"].split(" ", 1)[0] not in TRANSACTION]


def test_routing_a_resting_order_costs_a_fixed_handful_of_statements(account):
    order_route(order_id=submit(account, "warm").pk)
    order = submit(account, "cost-1")
    statements = statements_of_routing(order)
    order.refresh_from_db()
    assert order.status == S.NEW
    assert len(statements) <= STATEMENTS.get(connection.vendor, 15), "\n".join(statements)
    assert list(order.events.values_list("status", flat=True)) == [
        S.RECEIVED, S.ROUTING, S.ROUTED, S.NEW
    ]  # fmt: skip


def test_the_history_rows_of_one_write_keep_the_order_of_the_path(account):
    order = submit(account, "cost-2", time_in_force="IMMEDIATE_OR_CANCEL")
    order_route(order_id=order.pk)
    events = list(order.events.order_by("id").values_list("status", flat=True))
    assert events == [S.RECEIVED, S.ROUTING, S.ROUTED, S.CANCELED]


def test_a_write_whose_guard_matches_nothing_changes_nothing_and_records_nothing(account):
    order = submit(account, "cost-3")
    now = timezone.now()
    written = order_write(
        Guard(order.pk, {S.ROUTING}),  # it is RECEIVED
        {"status": S.ROUTED, "updated_at": now},
        [(S.ROUTED, now, "ROUTE", "")],
    )
    assert written is None
    order.refresh_from_db()
    assert order.status == S.RECEIVED and order.events.count() == 1


def test_a_write_whose_guard_matches_returns_the_new_version_with_its_rows_recorded(account):
    order = submit(account, "cost-4")
    now = timezone.now()
    written = order_write(
        Guard(order.pk, {S.RECEIVED}, order.version),
        {"status": S.REJECTED, "updated_at": now},
        [(S.REJECTED, now, "ROUTE", "a note")],
    )
    order.refresh_from_db()
    assert written.version == order.version == 1 and order.status == S.REJECTED
    assert written.cancel_requested_at is None
    assert order.events.latest("id").note == "a note"


def test_a_cancel_asked_for_while_the_order_is_routed_is_sent_once_the_venue_confirms(
    account, monkeypatch
):
    order = submit(account, "cost-5")
    place = PaperVenue.submit

    def place_while_the_trader_cancels(venue, intent):
        order_cancel(order=Order.objects.get(pk=order.pk))  # ROUTING: recorded, sent later
        return place(venue, intent)

    monkeypatch.setattr(PaperVenue, "submit", place_while_the_trader_cancels)
    order_route(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == S.PENDING_CANCEL and order.cancel_requested_at is not None


def statements_of_submit(account, client_order_id: str) -> tuple[Order, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        order = submit(account, client_order_id)
    return order, [q["sql"] for q in queries if q["sql"].split(" ", 1)[0] not in TRANSACTION]


def test_a_submit_reads_few_things_and_writes_the_order_with_its_first_row_in_one_go(account):
    submit(account, "warm")  # the risk rules are read from the database once, then from Redis
    # The client order id, the instrument, the balance as last read, the orders sent since (on
    # PostgreSQL summed in the balance's statement: orders.funds).
    order, statements = statements_of_submit(account, "cost-6")
    # The reads, the order with its first row and its stream event (three statements but on
    # PostgreSQL), the audit entry.
    assert len(statements) <= {"postgresql": 5}.get(connection.vendor, 8), "\n".join(statements)
    event = order.events.get()
    assert (event.status, event.at, event.cause) == (S.RECEIVED, order.created_at, "SUBMIT")


def test_every_risk_limit_set_costs_a_submit_one_round_trip_more(account, paper_quotes):
    submit(account, "warm")
    _, without_limits = statements_of_submit(account, "cost-8")
    RiskLimits.objects.create(**EVERY_LIMIT)  # the desk's
    RiskLimits.objects.create(account=account, **EVERY_LIMIT)
    rules_changed()
    submit(account, "warm-again")
    order, with_limits = statements_of_submit(account, "cost-9")
    # Add this order to the scopes' usage rows, which locks them; count their orders (one query
    # for all scopes): on PostgreSQL both in one batch.
    more = {"postgresql": 1}.get(connection.vendor, 2)
    assert len(with_limits) == len(without_limits) + more, "\n".join(with_limits)
    assert order.status == S.RECEIVED


def test_an_order_refused_for_a_used_client_order_id_leaves_the_transaction_usable(account):
    first = submit(account, "cost-7")
    again = Order.objects.get(pk=first.pk)
    again.pk, again._state.adding = None, True
    with pytest.raises(IntegrityError):
        order_insert(again, cause="SUBMIT", note="")
    assert Order.objects.filter(client_order_id="cost-7").count() == 1
