"""RELIABILITY.md §7 #25, the keys part: a key the exchange reports as able to withdraw is
refused for trading. The key check after linking (admin: Test connection) finds it; from then
on every new order on the account is refused with the reason, nothing is sent, and the
overview says why; a trade-only key linked and checked opens trading again."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.services import account_key_check, account_link
from orders.services import OrderInvalid, order_route
from tests.reliability.ccxt_venue import ccxt_fake_fixture, sim_account, sim_submit  # noqa: F401
from tests.reliability.conftest import assert_invariants
from tests.venues.conftest import ccxt_settings, fake  # noqa: F401
from venues.base import OrdStatus

S = OrdStatus
pytestmark = pytest.mark.django_db
TRADE_ONLY_KEY = {
    "PublicApiKey": "tradeOnlyKeyWkN6t0uBv2f9Rz1Xc8Lm3Qp7Hs5Dj4Ga0Ey6Iu2Ob9Tw1Vr8Pn3Sk",
    "PrivateApiKey": "tradeOnlySecretYx7Qe2Wr5Ty8Ui1Op4As7Df0Gh3Jk6Lz9Xc2Vb5Nm8Qw1Er4Ty7",
}


def restrictions(exchange, *, withdrawals: bool) -> None:
    """Binance's GET /sapi/v1/account/apiRestrictions for the key."""
    exchange.on("GET", "/sapi/v1/account/apiRestrictions", {
        "ipRestrict": False, "createTime": 1795400000000, "enableReading": True,
        "enableWithdrawals": withdrawals, "enableInternalTransfer": False, "enableMargin": False,
        "enableFutures": False, "permitsUniversalTransfer": False, "enableVanillaOptions": False,
        "enableFixApiTrade": False, "enableFixReadOnly": False,
        "enableSpotAndMarginTrading": True, "enablePortfolioMarginTrading": False,
    })  # fmt: skip


@pytest.mark.fault(25, "a linked key that can withdraw is used to trade")
def test_trading_with_a_key_that_can_withdraw_is_refused_until_a_trade_only_key_is_checked(
    ccxt_fake, django_user_model
):
    sim, account = sim_account(ccxt_fake, "BINANCE")
    restrictions(ccxt_fake, withdrawals=True)
    assert account_key_check(account_id=account.pk).can_withdraw
    account.refresh_from_db()

    with pytest.raises(OrderInvalid) as refused:
        sim_submit(account, "withdraw-key")
    [reason] = refused.value.errors["exchange_id"]
    assert "can withdraw" in reason and "trade-only key" in reason
    assert sim.create_requests() == []
    web = Client()
    web.force_login(django_user_model.objects.create_superuser("desk-admin", password="pw-12345"))
    assert reason in web.get("/").content.decode()

    account, _ = account_link(exchange_id=account.exchange_id, parameters=TRADE_ONLY_KEY)
    restrictions(ccxt_fake, withdrawals=False)
    assert account_key_check(account_id=account.pk).can_withdraw is False
    account.refresh_from_db()
    order = sim_submit(account, "trade-only-key")
    order_route(order_id=order.pk)

    order.refresh_from_db()
    assert order.status == S.NEW and len(sim.create_requests()) == 1
    assert "can withdraw" not in web.get("/").content.decode()
    assert_invariants(account)
