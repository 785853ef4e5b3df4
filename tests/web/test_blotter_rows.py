"""The blotter at size: the newest working orders, the rest counted and one link away, in a
number of queries that does not grow with the orders."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import pages
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_rows(monkeypatch):
    monkeypatch.setattr(pages, "BLOTTER_ROWS", 3)


def test_past_its_row_limit_the_blotter_counts_the_rest_and_links_to_all(
    desk, admin_web, three_rows
):
    OrderFactory.create_batch(5, account=desk["account"], status="NEW")
    page = admin_web.get("/orders/blotter/").content.decode()
    assert page.count('data-status="NEW"') == 3
    assert "2 older working orders not shown" in page
    assert 'href="/orders/blotter/?all=1">show all 5</a>' in page
    every = admin_web.get("/orders/blotter/?all=1").content.decode()
    assert every.count('data-status="NEW"') == 5 and "not shown" not in every
    assert "v=" in every and "&amp;all=1" in every  # its polls keep showing all


def test_the_rows_a_poll_returns_are_capped_too(desk, admin_web, three_rows):
    OrderFactory.create_batch(4, account=desk["account"], status="NEW")
    rows = admin_web.get("/orders/blotter/rows/?v=-5").content.decode()
    assert rows.count('data-status="NEW"') == 3 and "1 older working order not shown" in rows


def test_a_capped_blotter_costs_as_many_queries_with_few_orders_over_the_cap_as_with_many(
    desk, admin_web, three_rows
):
    OrderFactory.create_batch(4, account=desk["account"], status="NEW")
    with CaptureQueriesContext(connection) as few:
        admin_web.get("/orders/blotter/rows/?v=-5")
    OrderFactory.create_batch(30, account=desk["account"], status="NEW")
    with CaptureQueriesContext(connection) as many:
        admin_web.get("/orders/blotter/rows/?v=-5")
    assert len(many) == len(few)


def test_a_row_shows_the_order_at_its_instruments_precision_with_a_cancel_for_a_trader(
    desk, admin_web, viewer_web
):
    order = OrderFactory(account=desk["account"], status="NEW", client_order_id="<b>x</b>")
    page = admin_web.get("/orders/blotter/").content.decode()
    assert "1.0000" in page and "50,000.0" in page  # lot 0.0001, tick 0.1
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert f'action="/orders/{order.pk}/cancel/"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert (
        f'action="/orders/{order.pk}/cancel/"'
        not in viewer_web.get("/orders/blotter/").content.decode()
    )


def test_a_cancel_from_the_blotter_showing_all_re_renders_it_showing_all(
    desk, admin_web, three_rows
):
    orders = OrderFactory.create_batch(5, account=desk["account"], status="NEW")
    every = admin_web.get("/orders/blotter/?all=1").content.decode()
    cancel_url = f"/orders/{orders[0].pk}/cancel/?all=1"
    assert f'hx-post="{cancel_url}"' in every

    rendered = admin_web.post(cancel_url, headers={"HX-Request": "true"}).content.decode()
    assert rendered.count('data-status="NEW"') == 4 and "not shown" not in rendered
    assert 'data-status="PENDING_CANCEL"' in rendered
    assert admin_web.post(f"/orders/{orders[1].pk}/cancel/?all=1")["Location"] == (
        "/orders/blotter/?all=1"
    )


def test_the_blotter_and_the_history_render_their_rows_with_one_include_per_table(desk, admin_web):
    OrderFactory.create_batch(3, account=desk["account"], status="NEW")
    for path in ("/orders/blotter/", "/orders/blotter/rows/?v=-5", "/orders/history/"):
        response = admin_web.get(path)
        rendered = [template.name for template in response.templates]
        assert rendered.count("orders/_order_rows.html") == 1, path
        assert response.content.decode().count('<tr id="order-') == (0 if "history" in path else 3)


def test_only_the_history_shows_an_average_price_and_only_the_blotter_a_cancel(desk, admin_web):
    order = OrderFactory(
        account=desk["account"],
        status="PARTIALLY_FILLED",
        amount_filled=Decimal("0.5"),
        avg_px=Decimal("49999"),
    )
    blotter = admin_web.get("/orders/blotter/").content.decode()
    history = admin_web.get("/orders/history/").content.decode()
    assert "49,999.0" in history and "49,999.0" not in blotter
    assert f'action="/orders/{order.pk}/cancel/"' in blotter and "/cancel/" not in history


def test_each_table_says_so_when_it_has_no_rows(desk, admin_web):
    assert "No open orders." in admin_web.get("/orders/blotter/").content.decode()
    assert "No orders match." in admin_web.get("/orders/history/").content.decode()
