"""A claimed order is sent within EMSWEB_ROUTE_SEND_DEADLINE of its claim or not at all: the
order worker's threads pool enforces no Celery time limit, and a send that late could reach the
venue after the sync declared the order never placed."""

from decimal import Decimal

import pytest

from accounts.services import account_link
from orders.instruments import instruments_refresh
from orders.models import RejectReason
from orders.services import OrderTicket, order_route, order_submit
from orders.sync import account_sync
from tests.conftest import wait_for
from venues.base import OrdStatus as S
from venues.paper import engine
from venues.paper.models import PaperRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(db):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    account, _ = account_link(exchange_id="PAPER/DEADLINE", parameters={})
    account_sync(account_id=account.pk)
    return account


def test_an_order_held_up_past_the_deadline_after_its_claim_is_not_sent(account, settings):
    settings.EMSWEB_ROUTE_SEND_DEADLINE = -1  # already past when the venue call would start
    ticket = OrderTicket(
        client_order_id="late", symbol="BTCUSD", side="BUY", amount="0.01", price="40000"
    )
    order = order_submit(account=account, ticket=ticket)
    order_route(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == S.ROUTING
    assert not PaperRequest.objects.filter(client_order_id="late").exists()

    def settled() -> bool:
        account_sync(account_id=account.pk)
        order.refresh_from_db()
        return order.status == S.REJECTED

    wait_for(settled, what="the sync to declare it never placed")
    assert order.reject_reason == RejectReason.NEVER_PLACED
