"""The ticket's "Available" balance."""

import pytest

from accounts.models import Balance

pytestmark = pytest.mark.django_db


def ticket(desk, **fields):
    return {
        "account": desk["account"].pk,
        "symbol": "BTC/USD",
        "side": "BUY",
        "amount": "0.5",
        "price": "40000",
        "time_in_force": "GOOD_TILL_CANCEL",
        "client_order_id": "c-1",
        **fields,
    }


def test_the_ticket_says_when_the_balances_were_never_read(desk, trader_web):
    Balance.objects.all().delete()
    type(desk["account"]).objects.update(balances_synced_at=None)
    content = trader_web.post("/orders/ticket/check/", ticket(desk)).content.decode()
    assert "<dt>Available USD</dt><dd" in content and "not known yet" in content
    assert "Insufficient funds" not in content
