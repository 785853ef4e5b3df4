"""REST has no connection to tie CANCEL_ON_DISCONNECT to: it stays a 400 naming exec_inst."""

import pytest
import simplejson

from orders.models import Order
from tests.factories import AccountFactory, BalanceFactory, InstrumentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("exec_inst", [["CANCEL_ON_DISCONNECT"], "CANCEL_ON_DISCONNECT"])
def test_rest_refuses_cancel_on_disconnect_naming_exec_inst_and_writes_nothing(api, exec_inst):
    account = AccountFactory()
    InstrumentFactory()
    BalanceFactory(account=account, asset_id_exchange="USD")
    response = api.post(
        "/v1/orders",
        {
            "exchange_id": "PAPER/TEST", "client_order_id": "rest-cod",
            "symbol_id_coinapi": "PAPER_SPOT_BTC_USD", "amount_order": 0.1, "price": 49000,
            "side": "BUY", "order_type": "LIMIT", "time_in_force": "GOOD_TILL_CANCEL",
            "exec_inst": exec_inst,
        },
    )  # fmt: skip
    assert response.status_code == 400
    errors = simplejson.loads(response.content)["errors"]
    assert list(errors) == ["exec_inst"]
    assert "WebSocket" in errors["exec_inst"][0]
    assert not Order.objects.exists()
