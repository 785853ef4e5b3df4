"""Kraken Futures' status call knows an order only while it is open and for 5 s after it
finished: an order looked up later is found by its fills (GET /fills, which carry its cliOrdId
and order_id). A create whose outcome is unknown and whose order traded is then never declared
never placed, its fills count once, and one that did not trade still is, after the lookups.
Kraken's HTTP answered with its documented shapes, the requests captured."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.services import account_link
from orders.instruments import instruments_refresh
from orders.models import Fill, Order, OrderOrigin, RejectReason
from orders.services import OrderTicket, order_route, order_submit
from orders.sync import account_sync
from tests.venues.fake_http import read_timeout
from tests.venues.scripts.krakenfutures import API, ORDER_ID, SERVER_TIME, KrakenFts, fill
from tests.venues.test_exchanges import ORDER, make_venue
from venues.base import OrdStatus
from venues.errors import OutcomeUnknown

D = Decimal
S = OrdStatus
pytestmark = pytest.mark.django_db
OURS = ["3d4b1d2c-0000-4000-8000-0000000000a1", "3d4b1d2c-0000-4000-8000-0000000000a2"]
OTHER_ORDER = "7e1b0c5a-1f0e-4f55-9d3e-6a1c0f3b2d11"


def fills_answer(rows: list[dict]) -> dict:
    return {"result": "success", "serverTime": SERVER_TIME, "fills": rows}


def our_fills(client_id: str, amounts=("0.004", "0.006")) -> list[dict]:
    return [fill(OURS[i], amount, i == 0, client_id) for i, amount in enumerate(amounts)]


def another_orders_fill() -> dict:
    """A fill of another order, placed with a client id of its own."""
    return {**fill("3d4b1d2c-0000-4000-8000-0000000000b1", "0.02", False, "someone-else"),
            "order_id": OTHER_ORDER}  # fmt: skip


def status_unknown(fake) -> None:
    """POST /orders/status after the order's 5 s: it is not there."""
    fake.on("POST", f"{API}/orders/status", {"result": "success", "serverTime": SERVER_TIME,
                                             "orders": []})  # fmt: skip


# --- the venue's lookups ----------------------------------------------------------------------


@pytest.fixture
def kraken(fake):
    script = KrakenFts()
    script.markets(fake)
    return script, make_venue(script)


def test_an_order_past_the_status_window_is_found_finished_by_its_fills(kraken, fake):
    script, venue = kraken
    client_id = venue.client_order_id_for(ORDER)
    status_unknown(fake)
    fake.on("GET", f"{API}/fills", fills_answer([another_orders_fill(), *our_fills(client_id)]))

    found = venue.lookup(ORDER, script.symbol)

    [asked] = fake.requests_to(f"{API}/orders/status", "POST")
    assert asked.params["cliOrdIds"] == client_id
    assert found.exchange_order_id == ORDER_ID and found.client_order_id == ORDER
    # Not open (the status call would know it): finished, with what its fills add up to.
    assert (found.status, found.amount_filled) == (S.CANCELED, D("0.01"))
    assert sorted(f.trade_id for f in found.fills) == OURS
    assert {f.exchange_order_id for f in found.fills} == {ORDER_ID}
    assert found.side == "BUY" and found.symbol_id_exchange == "PF_XBTUSD"


def test_an_order_with_no_status_and_no_fills_is_not_found(kraken, fake):
    script, venue = kraken
    status_unknown(fake)
    fake.on("GET", f"{API}/fills", fills_answer([another_orders_fill()]))
    assert venue.lookup(ORDER, script.symbol) is None
    assert venue.lookup_by_exchange_id(ORDER_ID, script.symbol) is None


def test_the_lookup_by_kraken_id_past_the_status_window_is_found_by_its_fills(kraken, fake):
    script, venue = kraken
    status_unknown(fake)
    fake.on("GET", f"{API}/fills", fills_answer([another_orders_fill(), *our_fills("desk-7")]))

    found = venue.lookup_by_exchange_id(ORDER_ID, script.symbol)

    [asked] = fake.requests_to(f"{API}/orders/status", "POST")
    assert asked.params["orderIds"] == ORDER_ID
    assert (found.exchange_order_id, found.client_order_id) == (ORDER_ID, "desk-7")
    assert (found.status, found.amount_filled) == (S.CANCELED, D("0.01"))
    assert sorted(f.trade_id for f in found.fills) == OURS


def test_fills_of_one_instant_split_across_two_pages_are_all_read_once(kraken, fake):
    script, venue = kraken
    client_id = venue.client_order_id_for(ORDER)
    status_unknown(fake)
    # A full first page ends with our first fill (at 02:14:10.880); the next, asked from 1 ms
    # after it, repeats it and brings our second fill, of the same instant.
    others = [
        {**another_orders_fill(), "fill_id": f"3d4b1d2c-0000-4000-8000-{n:012d}"} for n in range(99)
    ]
    first, second = our_fills(client_id)
    fake.on("GET", f"{API}/fills", answer=lambda request: fills_answer(
        [first, second] if "lastFillTime" in request.query else [*others, first]
    ))  # fmt: skip

    found = venue.lookup(ORDER, script.symbol)

    pages = fake.requests_to(f"{API}/fills", "GET")
    assert [page.query.get("lastFillTime") for page in pages] == [None, "2026-11-23T02:14:10.881Z"]
    assert found.amount_filled == D("0.01")
    assert sorted(f.trade_id for f in found.fills) == OURS


def test_an_order_whose_fills_go_back_beyond_the_pages_read_is_not_concluded(kraken, fake):
    script, venue = kraken
    client_id = venue.client_order_id_for(ORDER)
    status_unknown(fake)
    pages = iter(range(100))

    def page(request):
        # Full pages all the way back, each older than the last, ours at the end of each.
        n = next(pages)
        rows = [
            {**another_orders_fill(), "fill_id": f"3d4b1d2c-0000-4000-{n:04d}-{i:012d}"}
            for i in range(99)
        ]
        return fills_answer([*rows, {**our_fills(client_id)[0], "fill_id": f"ours-{n}"}])

    fake.on("GET", f"{API}/fills", answer=page)

    with pytest.raises(OutcomeUnknown, match="go back beyond"):
        venue.lookup(ORDER, script.symbol)


# --- through the sync's reconciler ------------------------------------------------------------


@pytest.fixture
def account(fake, settings):
    settings.EMSWEB_RECONCILE_AFTER = 0
    settings.EMSWEB_NEVER_PLACED_AFTER = 0
    settings.EMSWEB_NOT_FOUND_LOOKUPS = 3
    script = KrakenFts()
    script.markets(fake)
    assert instruments_refresh(venue="KRAKENFTS") >= 1
    linked, _ = account_link(exchange_id="KRAKENFTS/DESK", parameters=script.credentials)
    quiet(fake)
    account_sync(account_id=linked.pk)  # reconciled (trading opens) and its balances read
    return linked


def quiet(fake, fills=()) -> None:
    """The reads a sync makes: nothing open, the order unknown to the status call, `fills`."""
    script = KrakenFts()
    fake.on("GET", f"{API}/openorders", {"result": "success", "serverTime": SERVER_TIME,
                                         "openOrders": []})  # fmt: skip
    fake.on("GET", f"{API}/openpositions", {"result": "success", "serverTime": SERVER_TIME,
                                            "openPositions": []})  # fmt: skip
    script.balance(fake)
    status_unknown(fake)
    fake.on("GET", f"{API}/fills", fills_answer(list(fills)))


def routed_unknown(account, fake, client_order_id: str) -> Order:
    """An IOC of 0.01 whose create timed out: Kraken acted, its answer was lost."""
    ticket = OrderTicket(client_order_id, "PF_XBTUSD", "BUY", "0.01", "50000",
                         time_in_force="IMMEDIATE_OR_CANCEL")  # fmt: skip
    order = order_submit(account=account, ticket=ticket)
    fake.on("POST", f"{API}/sendorder", raises=read_timeout)
    order_route(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == S.ROUTING and order.outcome_unknown_at is not None
    return order


def sync_times(account, times: int) -> None:
    for _ in range(times):
        assert account_sync(account_id=account.pk)


def test_an_unknown_outcome_ioc_that_filled_past_the_status_window_is_filled_once(account, fake):
    order = routed_unknown(account, fake, "desk-ioc-1")
    quiet(fake, [another_orders_fill(), *our_fills(order.client_order_id_format_exchange)])

    sync_times(account, 3)  # as many lookups as would declare it never placed

    order.refresh_from_db()
    assert (order.status, order.amount_filled, order.exchange_order_id) == (
        S.FILLED,
        D("0.01"),
        ORDER_ID,
    )
    assert order.avg_px == D(50000)
    assert S.REJECTED not in order.events.values_list("status", flat=True)
    assert sorted(order.fills.values_list("trade_id", flat=True)) == OURS
    assert Fill.objects.filter(trade_id__in=OURS).count() == 2  # on no other order
    assert len(fake.requests_to(f"{API}/sendorder", "POST")) == 1


def test_an_unknown_outcome_ioc_partially_filled_is_canceled_with_the_partial_amount(account, fake):
    order = routed_unknown(account, fake, "desk-ioc-2")
    quiet(fake, our_fills(order.client_order_id_format_exchange, amounts=("0.004",)))

    sync_times(account, 3)

    order.refresh_from_db()
    assert (order.status, order.amount_filled, order.amount_open) == (
        S.CANCELED,
        D("0.004"),
        D("0.006"),
    )
    events = list(order.events.values_list("status", flat=True))
    assert S.PARTIALLY_FILLED in events and S.REJECTED not in events
    assert list(order.fills.values_list("trade_id", flat=True)) == [OURS[0]]
    assert Fill.objects.filter(trade_id__in=OURS).count() == 1


def test_an_id_sent_as_a_derived_uuid_resolves_its_order_and_adopts_none(account, fake):
    # Kraken takes no "." in cliOrdId: ours went out as a UUID derived from it.
    order = routed_unknown(account, fake, "desk.ioc.3")
    sent = order.client_order_id_format_exchange
    assert sent != order.client_order_id
    quiet(fake, our_fills(sent))

    sync_times(account, 2)

    order.refresh_from_db()
    assert (order.status, order.amount_filled) == (S.FILLED, D("0.01"))
    assert not Order.objects.filter(account=account, origin=OrderOrigin.EXTERNAL).exists()
    assert Fill.objects.filter(trade_id__in=OURS).count() == 2  # on no other order


def test_an_unknown_outcome_with_no_fills_is_never_placed_after_the_lookups(account, fake):
    order = routed_unknown(account, fake, "desk-ioc-4")
    quiet(fake, [another_orders_fill()])

    for done in (1, 2):
        sync_times(account, 1)
        order.refresh_from_db()
        assert (order.status, order.not_found_lookups) == (S.ROUTING, done)
    sync_times(account, 1)

    order.refresh_from_db()
    assert order.status == S.REJECTED and order.reject_reason == RejectReason.NEVER_PLACED
    assert fake.requests_to(f"{API}/fills", "GET")  # the fills were asked, and had none of it
    assert len(fake.requests_to(f"{API}/sendorder", "POST")) == 1
