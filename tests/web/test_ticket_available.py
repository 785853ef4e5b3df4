"""The ticket's "Available" is the figure the submit checks (tests/orders/test_available.py)."""

import re

import pytest

from accounts.models import Balance
from tests.web.conftest import ticket

pytestmark = pytest.mark.django_db


def available_shown(client, desk) -> str:
    content = client.post("/orders/ticket/check/", ticket(desk, client_order_id="c-9")).content
    return re.search(r"<dt>Available USD</dt><dd[^>]*>([^<]*)</dd>", content.decode()).group(1)


def test_the_ticket_takes_an_order_just_placed_off_the_available_balance(desk, trader_web):
    assert available_shown(trader_web, desk) == "100,000"
    trader_web.post("/orders/ticket/submit/", ticket(desk))  # 20,000 USD
    assert available_shown(trader_web, desk) == "80,000"


def test_the_ticket_says_when_the_balances_were_never_read(desk, trader_web):
    Balance.objects.all().delete()
    type(desk["account"]).objects.update(balances_synced_at=None)
    content = trader_web.post("/orders/ticket/check/", ticket(desk)).content.decode()
    assert "<dt>Available USD</dt><dd" in content and "not known yet" in content
    assert "Insufficient funds" not in content
