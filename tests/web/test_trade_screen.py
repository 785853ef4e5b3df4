"""The trading screen's server side: which account and instrument it opens on, its ticket, its
live part (working orders, fills, balances, the account's state), its cancel, and what the
stream pushes to it."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import ExchangeAccount
from orders.models import Fill, Order, ScreenChoice
from orders.screen import SCREEN_ORDERS
from stream.pages import page_fragments
from stream.reader import Event
from tests.factories import AccountFactory, BalanceFactory, InstrumentFactory, OrderFactory
from tests.web.conftest import ticket

pytestmark = pytest.mark.django_db

ETH = {"symbol_id_exchange": "ETHUSD", "symbol_id_coinapi": "PAPER_SPOT_ETH_USD", "base": "ETH"}


def screen(client, **query) -> str:
    response = client.get("/orders/trade/", query)
    assert response.status_code == 200
    return response.content.decode()


def test_the_screen_opens_on_the_last_account_and_instrument_the_user_had(desk, admin_web):
    InstrumentFactory(**ETH)
    first = screen(admin_web)
    assert "Trade BTC/USD" in first  # the first of the venue's instruments
    screen(admin_web, account=desk["other"].pk, instrument="ETH/USD")
    again = screen(admin_web)
    assert "Trade ETH/USD" in again and "on PAPER/OTHER" in again
    choice = ScreenChoice.objects.get(user=desk["users"]["ADMIN"])
    assert (choice.account, choice.instrument.base) == (desk["other"], "ETH")


def test_an_account_the_user_may_not_trade_is_not_opened(desk, trader_web):
    content = screen(trader_web, account=desk["other"].pk)
    assert "on PAPER/DESK" in content and "PAPER/OTHER" not in content


def test_a_viewer_is_refused_the_screen(desk, viewer_web):
    assert viewer_web.get("/orders/trade/").status_code == 403


def test_the_screens_ticket_is_for_its_account_and_instrument_and_completes_their_instruments(
    desk, trader_web
):
    InstrumentFactory(**ETH)
    content = screen(trader_web)
    assert re.search(f'<input type="hidden" name="account" value="{desk["account"].pk}"', content)
    assert re.search(r'<input type="hidden" name="symbol" value="PAPER_SPOT_BTC_USD"', content)
    assert '<input type="hidden" name="screen" value="trade"' in content
    options = re.findall(r'<option value="([^"]+)">PAPER_SPOT', content)
    assert options == ["BTC/USD", "ETH/USD"]
    assert (
        f'data-stream="page=trade&amp;account={desk["account"].pk}'
        '&amp;instrument=PAPER_SPOT_BTC_USD"' in content
    )


def test_a_ticket_sent_from_the_screen_comes_back_for_the_screen_and_does_not_poll(
    desk, trader_web
):
    response = trader_web.post("/orders/ticket/submit/", ticket(desk, screen="trade"))
    content = response.content.decode()
    order = Order.objects.get()
    assert f'data-order="{order.pk}"' in content
    assert '<input type="hidden" name="screen" value="trade"' in content
    outcome = re.search(r'<div id="outcome"[^>]*>', content).group(0)
    assert "hx-get" not in outcome and "data-stream" not in outcome


def presets(client, desk, **fields) -> list[tuple[str, str]]:
    content = client.post("/orders/ticket/check/", ticket(desk, **fields)).content.decode()
    return re.findall(r'data-amount="([^"]+)"[^>]*>(\d+)%<', content)


def test_the_amount_presets_are_shares_of_what_is_available_for_the_side(desk, trader_web):
    # 100,000 USD at 40,000: 2.5 BTC, rounded down to the lot.
    assert presets(trader_web, desk, price="40000") == [
        ("0.625", "25"),
        ("1.25", "50"),
        ("2.5", "100"),
    ]
    BalanceFactory(account=desk["account"], asset_id_exchange="BTC", available=Decimal("0.3"))
    assert presets(trader_web, desk, side="SELL") == [
        ("0.075", "25"),
        ("0.15", "50"),
        ("0.3", "100"),
    ]
    assert presets(trader_web, desk, price="") == []  # a buy needs a price (or a quote)


def live(client, account, instrument="PAPER_SPOT_BTC_USD") -> str:
    response = client.get("/orders/trade/live/", {"account": account.pk, "instrument": instrument})
    assert response.status_code == 200
    return response.content.decode()


def test_the_live_part_shows_the_desks_working_orders_fills_and_the_accounts_balances(
    desk, trader_web
):
    account = desk["account"]
    working = OrderFactory(account=account, status="NEW", amount_order=Decimal("0.5"))
    elsewhere = OrderFactory(account=desk["other"], status="NEW", client_order_id="elsewhere")
    OrderFactory(account=account, status="CANCELED", client_order_id="done")
    filled = OrderFactory(
        account=desk["other"], status="FILLED", client_order_id="filled", side="SELL"
    )
    Fill.objects.create(
        order=filled,
        trade_id="t-1",
        time=timezone.now(),
        price=Decimal("50100"),
        amount=Decimal("0.25"),
        fee=Decimal("12.525"),
        fee_asset="USD",
    )
    BalanceFactory(account=account, asset_id_exchange="BTC", balance=Decimal("2"))
    BalanceFactory(account=desk["other"], asset_id_exchange="ETH", balance=Decimal("7"))
    content = live(trader_web, account)
    assert content.strip().startswith('<div id="trade-live"')
    # The desk's working orders on the instrument, each with its account named; a cancel only
    # on the account the trader is granted.
    mine = row(content, working.pk)
    assert "PAPER/DESK" in mine and f"Cancel {working.client_order_id}" in mine
    theirs = row(content, elsewhere.pk)
    assert "PAPER/OTHER" in theirs and "Cancel" not in theirs
    assert "done" not in content
    # The desk's fills, with fees; the screen's account's balances only.
    assert "12.525 USD" in content and "50,100.0" in content
    assert 'id="screen-balance-BTC"' in content and 'id="screen-balance-USD"' in content
    assert "ETH" not in content


def row(content: str, pk: int) -> str:
    found = re.search(rf'<tr id="screen-order-{pk}".*?</tr>', content, re.S)
    assert found, f"no row for order {pk}"
    return found.group(0)


def test_orders_on_another_market_are_not_the_screens(desk, trader_web):
    """The sandbox's book, and another venue's, are other markets at other prices."""
    sandbox = AccountFactory(exchange_id="PAPER/SANDBOX", tag="SANDBOX", sandbox=True)
    kraken = AccountFactory(exchange_id="KRAKEN/DESK", venue="KRAKEN", tag="DESK")
    kraken_btc = InstrumentFactory(
        venue="KRAKEN", symbol_id_exchange="XXBTZUSD", symbol_id_coinapi="KRAKEN_SPOT_BTC_USD"
    )
    OrderFactory(account=sandbox, status="NEW", client_order_id="in-the-sandbox")
    OrderFactory(account=kraken, instrument=kraken_btc, status="NEW", client_order_id="on-kraken")
    content = live(trader_web, desk["account"])
    assert "in-the-sandbox" not in content and "on-kraken" not in content


def test_the_books_marks_count_every_working_order_when_not_all_have_a_row(desk, trader_web):
    for n in range(SCREEN_ORDERS + 1):
        price = Decimal(49000 if n % 2 else 49500)
        OrderFactory(account=desk["account"], status="NEW", price=price)
    OrderFactory(account=desk["other"], status="NEW", price=Decimal(49000), side="SELL")
    content = live(trader_web, desk["account"])
    assert "2 older working orders not shown" in content
    levels = re.findall(
        r'<li data-side="(\w+)" data-price="([\d.]+)" data-open="([\d.]+)">', content
    )
    assert sorted(levels) == [
        ("BUY", "49000", "25"),
        ("BUY", "49500", "26"),
        ("SELL", "49000", "1"),
    ]
    # When every working order has its row, the rows say it.
    Order.objects.filter(price=Decimal(49500)).update(status="CANCELED")
    assert 'id="desk-levels"' not in live(trader_web, desk["account"])


def test_the_live_part_says_when_the_key_was_refused_or_the_venue_did_not_answer(desk, trader_web):
    ExchangeAccount.objects.filter(pk=desk["account"].pk).update(
        alert_kind="AUTH", alert="EAPI:Invalid key", last_sync_error="timed out"
    )
    content = trader_web.get(
        "/orders/trade/live/", {"account": desk["account"].pk, "instrument": "BTC/USD"}
    ).content.decode()
    assert "Key refused: EAPI:Invalid key" in content
    assert "The last sync failed: timed out" in content
    ExchangeAccount.objects.filter(pk=desk["account"].pk).update(last_sync_unreachable=True)
    content = trader_web.get(
        "/orders/trade/live/", {"account": desk["account"].pk, "instrument": "BTC/USD"}
    ).content.decode()
    assert "Venue unreachable at the last sync: timed out" in content


def test_a_cancel_from_the_screen_comes_back_as_its_live_part(desk, admin_web):
    order = OrderFactory(account=desk["other"], status="NEW", client_order_id="to-cancel")
    # Cancelled from the screen of another account: that screen's live part comes back.
    query = f"?account={desk['account'].pk}&instrument=PAPER_SPOT_BTC_USD"
    url = f"/orders/trade/cancel/{order.pk}/{query}"
    content = admin_web.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert content.strip().startswith('<div id="trade-live"')
    assert "Cancel requested for to-cancel." in content
    assert f"?account={desk['account'].pk}&amp;instrument=PAPER_SPOT_BTC_USD" in content
    assert Order.objects.get(pk=order.pk).status == "PENDING_CANCEL"
    again = admin_web.post(url, HTTP_HX_REQUEST="true")
    assert again.status_code == 200


def test_a_trader_may_not_cancel_on_an_account_not_granted(desk, trader_web):
    order = OrderFactory(account=desk["other"], status="NEW")
    assert trader_web.post(f"/orders/trade/cancel/{order.pk}/").status_code == 403
    assert Order.objects.get(pk=order.pk).status == "NEW"


def test_the_stream_pushes_the_live_part_for_events_of_the_accounts_it_shows_only(desk):
    trader, account = desk["users"]["TRADER"], desk["account"]
    kraken = AccountFactory(exchange_id="KRAKEN/DESK", venue="KRAKEN", tag="DESK")
    params = {"account": str(account.pk), "instrument": "PAPER_SPOT_BTC_USD"}

    def push(account_id):
        event = Event(1, "order", account_id, "{}")
        return page_fragments(user=trader, page="trade", params=params, events=[event])

    html = push(account.pk)
    assert html.startswith('<div id="trade-live"') and 'hx-swap-oob="outerHTML"' in html
    assert push(desk["other"].pk).startswith('<div id="trade-live"')  # the desk's, same market
    assert push(kraken.pk) is None
    connected = page_fragments(user=trader, page="trade", params=params, events=None)
    assert connected.startswith('<div id="trade-live"')
    elsewhere = params | {"account": str(desk["other"].pk)}
    assert page_fragments(user=trader, page="trade", params=elsewhere, events=None) is None
