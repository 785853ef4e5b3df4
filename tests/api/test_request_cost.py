"""What the order endpoints ask of the database per request, pinned so that the gain cannot
quietly erode: a key used a moment ago costs no statement, a status one, the open orders two
whatever their number, a new order its submit's statements and one for its report (on
PostgreSQL; SQLite runs the same reads as more statements). Transaction control is not
counted."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import account_link
from orders.api import open_orders_answers
from orders.instruments import instruments_refresh
from orders.models import Instrument, Order
from orders.sync import account_sync
from tests.factories import OrderFactory
from venues.paper import engine

TRANSACTION = {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}
ON_POSTGRESQL = connection.vendor == "postgresql"
STATUS = 1 if ON_POSTGRESQL else 3
OPEN_ORDERS = 2 if ON_POSTGRESQL else 3
# The account the key may trade, the client order id, the instrument, the balance, the orders
# sent since it was read, the order with its first row and stream event, the audit entry; the
# report.
NEW_ORDER = 8 if ON_POSTGRESQL else 14


@pytest.fixture
def account(db, settings):
    settings.EMSWEB_API_ROUTING_WAIT = 0  # no worker here: a new order is answered 504 at once
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    account, _ = account_link(exchange_id="PAPER/COST", parameters={})
    account_sync(account_id=account.pk)
    return account


def open_orders(account, count: int) -> None:
    btc = Instrument.objects.get(venue="PAPER", symbol_id_exchange="BTCUSD")
    for _ in range(count):
        order = OrderFactory(account=account, instrument=btc, status="NEW", price="500")
        for status in ("RECEIVED", "ROUTING", "ROUTED", "NEW"):
            order.events.create(status=status, cause="ROUTE")


def statements_of(request, *, transaction_control: bool = False) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = request()
    every = [q["sql"] for q in queries]
    if transaction_control:
        return response, every
    return response, [sql for sql in every if sql.split(" ", 1)[0] not in TRANSACTION]


def test_a_key_used_a_moment_ago_costs_no_statement(api, account):
    _, first = statements_of(lambda: api.get("/v1/orders/status/none"))
    _, again = statements_of(lambda: api.get("/v1/orders/status/none"))
    assert len(again) == len(first) - 2, "\n".join(first)  # the key, and when it was used


def test_an_orders_status_costs_one_statement(api, account):
    open_orders(account, 1)
    wanted = Order.objects.get().client_order_id
    api.get("/v1/orders/status/warm")
    response, statements = statements_of(lambda: api.get(f"/v1/orders/status/{wanted}"))
    assert response.status_code == 200 and response.json()["id"] == wanted
    assert len(response.json()["status_history"]) == 4
    assert len(statements) <= STATUS, "\n".join(statements)


def open_orders_built(api):
    """GET /v1/orders built afresh, not answered again from what this process kept."""
    open_orders_answers.forget()
    return api.get("/v1/orders")


def test_the_open_orders_cost_the_same_statements_for_three_or_thirty(api, account):
    open_orders(account, 3)
    open_orders_built(api)
    _, few = statements_of(lambda: open_orders_built(api))
    open_orders(account, 27)
    response, many = statements_of(lambda: open_orders_built(api))
    assert len(response.json()) == 30
    assert all(len(report["status_history"]) == 4 for report in response.json())
    assert len(few) == len(many) <= OPEN_ORDERS, "\n".join(many)


def test_the_open_orders_again_with_nothing_changed_cost_no_statement(api, account):
    open_orders(account, 3)
    built = open_orders_built(api)
    again, statements = statements_of(lambda: api.get("/v1/orders"))
    assert again.content == built.content
    assert statements == []


def new_order(client_order_id: str) -> dict:
    return {
        "exchange_id": "PAPER/COST",
        "client_order_id": client_order_id,
        "symbol_id_exchange": "BTCUSD",
        "amount_order": "0.01",
        "price": "40000",
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GOOD_TILL_CANCEL",
    }


def test_a_new_order_costs_its_submit_and_one_statement_for_its_report(api, account):
    api.post("/v1/orders", new_order("warm"))  # the risk rules: from the database once
    response, statements = statements_of(lambda: api.post("/v1/orders", new_order("cost-1")))
    assert response.status_code == 504  # no worker: the order is RECEIVED and tracked
    assert Order.objects.get(client_order_id="cost-1").status == "RECEIVED"
    assert len(statements) <= NEW_ORDER, "\n".join(statements)


@pytest.mark.skipif(not ON_POSTGRESQL, reason="SQLite writes the order's rows in a savepoint")
def test_a_new_orders_write_opens_one_transaction_and_no_savepoint_inside_it(api, account):
    api.post("/v1/orders", new_order("warm"))
    _, statements = statements_of(
        lambda: api.post("/v1/orders", new_order("cost-2")), transaction_control=True
    )
    # Here the test's own transaction makes the write's a savepoint: its start and its end.
    control = [sql for sql in statements if sql.split(" ", 1)[0] in TRANSACTION]
    assert len(control) == 2, "\n".join(statements)
