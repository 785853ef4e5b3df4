from decimal import Decimal

import pytest

from accounts.services import account_link
from orders.instruments import instruments_refresh
from orders.services import OrderTicket, order_submit
from orders.sync import account_sync
from stream.sequencer import sequence_pending
from tests.api.conftest import api, trader  # noqa: F401 - the same fixtures as /v1 tests
from venues.paper import engine


@pytest.fixture
def hubs_sequence(settings):
    """Writers poke and leave the numbering to passes the test runs, as the hubs would (on
    PostgreSQL writers number their own events by default: stream.passes)."""
    settings.EMSWEB_STREAM_WRITERS_SEQUENCE = False


@pytest.fixture
def account():
    """A paper account, synced (balances read, trading gate open), its events numbered."""
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    account, _ = account_link(exchange_id="PAPER/STREAM", parameters={})
    account_sync(account_id=account.pk)
    sequence_pending()
    return account


def submit(account, client_order_id: str, user=None, **fields):
    values = {"symbol": "BTCUSD", "side": "BUY", "amount": "0.01", "price": "40000"}
    ticket = OrderTicket(client_order_id=client_order_id, **{**values, **fields})
    return order_submit(account=account, ticket=ticket, user=user)
