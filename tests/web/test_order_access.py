"""One access helper for an order (orders.selectors.order_get_for_user): the pages and the API
fetch an order through it, learn whether the user may trade it, and 404 when they may not see it."""

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.services import api_key_create
from orders.selectors import order_get_for_user
from tests.api.conftest import ApiClient
from tests.factories import OrderFactory
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db


def test_an_order_is_named_by_pk_client_order_id_or_exchange_order_id_in_its_account(desk):
    order = OrderFactory(account=desk["account"], client_order_id="mine", exchange_order_id="X-1")
    admin = desk["users"]["ADMIN"]
    assert order_get_for_user(user=admin, client_order_id="mine").order == order
    named = {"exchange_order_id": "X-1", "exchange_id": "PAPER/DESK"}
    assert order_get_for_user(user=admin, **named).order == order
    assert order_get_for_user(user=admin, **{**named, "exchange_id": "PAPER/OTHER"}) is None
    assert order_get_for_user(user=admin, client_order_id="mine", exchange_id="PAPER/OTHER") is None
    assert order_get_for_user(user=admin, pk=order.pk + 1) is None
    with pytest.raises(TypeError):
        order_get_for_user(user=admin, exchange_id="PAPER/DESK")


def test_nobody_signed_out_or_disabled_sees_an_order(desk):
    order = OrderFactory(account=desk["account"])
    assert order_get_for_user(user=AnonymousUser(), pk=order.pk) is None
    admin = desk["users"]["ADMIN"]
    admin.is_active = False
    assert order_get_for_user(user=admin, pk=order.pk) is None


def test_a_read_only_key_sees_the_order_and_may_not_trade_it(desk):
    order = OrderFactory(account=desk["account"])
    admin = desk["users"]["ADMIN"]
    key, _ = api_key_create(user=admin, label="reader", read_only=True)
    access = order_get_for_user(user=admin, api_key=key, pk=order.pk)
    assert access.order == order and not access.may_trade


def test_the_order_and_whether_the_user_may_trade_it_are_one_query(desk, django_assert_num_queries):
    order = OrderFactory(account=desk["account"])
    admin = desk["users"]["ADMIN"]
    order_get_for_user(user=admin, pk=order.pk)  # the role, read once per loaded user
    with django_assert_num_queries(1):
        access = order_get_for_user(user=admin, pk=order.pk)
        assert (access.order.account, access.order.instrument) == (order.account, order.instrument)


def test_an_order_detail_reads_the_order_with_whether_the_user_may_trade_it(
    desk, django_assert_num_queries
):
    order = OrderFactory(account=desk["account"], status="NEW")
    trader = client_for(desk["users"]["TRADER"])
    # The user, their role, the order with whether they may trade it, its fees, events, fills.
    with django_assert_num_queries(6):
        page = trader.get(f"/orders/{order.pk}/").content.decode()
    assert f'action="/orders/{order.pk}/cancel/"' in page


def test_a_key_cannot_cancel_an_order_of_an_account_its_user_may_not_trade(desk):
    order = OrderFactory(account=desk["other"], status="NEW", client_order_id="theirs")
    _, key = api_key_create(user=desk["users"]["TRADER"], label="trader")
    api = ApiClient(key)
    refused = api.post(
        "/v1/orders/cancel", {"exchange_id": "PAPER/OTHER", "client_order_id": "theirs"}
    )
    assert refused.status_code == 404 and refused.json()["reject_reason"] == "ORDER_ID_NOT_FOUND"
    assert api.get("/v1/orders/status/theirs").json()["status"] == "NEW"  # seen, not traded
    order.refresh_from_db()
    assert order.status == "NEW"
