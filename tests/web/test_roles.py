"""Each role against each action: one selector decides, every view asks it."""

import pytest

from accounts.selectors import accounts_tradable, may_manage_accounts
from orders.models import Order
from orders.selectors import order_get_for_user
from risk.models import ScopeState, TradingState
from tests.factories import OrderFactory
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db

TICKET = {
    "client_order_id": "web-roles-1",
    "symbol": "BTC/USD",
    "side": "BUY",
    "amount": "0.1",
    "price": "40000",
    "time_in_force": "GOOD_TILL_CANCEL",
}


def test_the_selector_gives_each_role_its_accounts(desk):
    users, account = desk["users"], desk["account"]
    assert set(accounts_tradable(user=users["ADMIN"])) == {account, desk["other"]}
    assert list(accounts_tradable(user=users["TRADER"])) == [account]
    assert not accounts_tradable(user=users["VIEWER"]).exists()
    assert may_manage_accounts(user=users["ADMIN"])
    assert not may_manage_accounts(user=users["TRADER"])


@pytest.mark.parametrize(
    ("role", "may_place"), [("ADMIN", True), ("TRADER", True), ("VIEWER", False)]
)
def test_placing_from_the_ticket(desk, role, may_place):
    client = client_for(desk["users"][role])
    page = client.get("/orders/ticket/")
    assert page.status_code == (200 if may_place else 403)
    response = client.post("/orders/ticket/submit/", {**TICKET, "account": desk["account"].pk})
    assert Order.objects.filter(client_order_id="web-roles-1").exists() == may_place
    if not may_place:
        assert response.status_code == 403


@pytest.mark.fault(24, "trader places on an account not granted")
def test_a_trader_cannot_place_on_an_account_not_granted(desk, trader_web):
    trader_web.post("/orders/ticket/submit/", {**TICKET, "account": desk["other"].pk})
    assert not Order.objects.exists()


# Who may trade an order of each account: the trader is granted "account", not "other".
MAY_TRADE = [
    ("ADMIN", "account", True),
    ("ADMIN", "other", True),
    ("TRADER", "account", True),
    ("TRADER", "other", False),
    ("VIEWER", "account", False),
]


@pytest.mark.parametrize(("role", "on", "may_trade"), MAY_TRADE)
def test_every_role_sees_every_order_and_may_trade_it_where_its_role_allows(
    desk, role, on, may_trade
):
    order = OrderFactory(account=desk[on], status="NEW")
    access = order_get_for_user(user=desk["users"][role], pk=order.pk)
    assert access.order == order and access.may_trade is may_trade


@pytest.mark.fault(24, "each role cancels its own and others' orders")
@pytest.mark.parametrize(("role", "on", "may_cancel"), MAY_TRADE)
def test_canceling_an_order(desk, role, on, may_cancel):
    order = OrderFactory(account=desk[on], status="NEW")
    response = client_for(desk["users"][role]).post(f"/orders/{order.pk}/cancel/")
    order.refresh_from_db()
    assert (order.status == "PENDING_CANCEL") == may_cancel
    if not may_cancel:
        assert response.status_code == 403


@pytest.mark.parametrize(("role", "may"), [("ADMIN", True), ("TRADER", True), ("VIEWER", False)])
def test_cancel_all_and_the_kill_switch(desk, role, may):
    order = OrderFactory(account=desk["account"], status="NEW")
    client = client_for(desk["users"][role])
    response = client.post(f"/orders/blotter/cancel-all/{desk['account'].pk}/")
    assert (response.status_code != 403) == may
    order.refresh_from_db()
    assert (order.status == "PENDING_CANCEL") == may


def test_the_kill_switch_needs_its_confirmation_and_spares_accounts_not_granted(desk, trader_web):
    mine = OrderFactory(account=desk["account"], status="NEW")
    theirs = OrderFactory(account=desk["other"], status="NEW")
    trader_web.post("/orders/blotter/kill-switch/", {"confirm": "yes"})
    mine.refresh_from_db()
    assert mine.status == "NEW"
    trader_web.post("/orders/blotter/kill-switch/", {"confirm": "CANCEL ALL"})
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("PENDING_CANCEL", "NEW")


@pytest.mark.parametrize("role", ["ADMIN", "TRADER", "VIEWER"])
@pytest.mark.parametrize(
    "path",
    ["/", "/balances/", "/orders/blotter/", "/orders/history/", "/audit/", "/account/api-keys/"],
)
def test_every_role_reads_the_shared_pages(desk, role, path):
    OrderFactory(account=desk["account"], status="NEW")
    assert client_for(desk["users"][role]).get(path).status_code == 200


def test_pages_need_a_signed_in_user(client):
    for path in ["/", "/orders/ticket/", "/orders/blotter/", "/orders/history/", "/audit/"]:
        response = client.get(path)
        assert response.status_code == 302 and "/account/sign-in/" in response["Location"]


def test_an_order_detail_shows_who_placed_and_who_canceled(desk, admin_web):
    order = OrderFactory(
        account=desk["account"],
        status="CANCELED",
        created_by=desk["users"]["TRADER"],
        canceled_by=desk["users"]["ADMIN"],
    )
    page = admin_web.get(f"/orders/{order.pk}/").content.decode()
    assert "trader" in page and "admin" in page


def test_a_viewers_kill_switch_is_refused_and_halts_nothing(desk):
    response = client_for(desk["users"]["VIEWER"]).post(
        "/orders/blotter/kill-switch/", {"confirm": "CANCEL ALL"}
    )
    assert response.status_code == 403
    assert not ScopeState.objects.filter(state=TradingState.HALTED).exists()
