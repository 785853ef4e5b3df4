"""The HTML forms fed the values the API fuzz uses (RELIABILITY.md section 7, #21): the ticket,
the API-key form, the admin's account link form, sign-in, the one-time code and the history
filters answer with a form error or a 4xx, never a 500; nothing is written and nothing reaches
the venue.

A real worker runs, so an order that slipped through would be routed and show in the paper
venue's request log; the last valid ticket proves that path is open.
"""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import (
    ApiKey,
    AuditEvent,
    Balance,
    DeskMember,
    DeskRole,
    ExchangeAccount,
    TradingGrant,
)
from accounts.services import account_link
from orders.instruments import instruments_refresh
from orders.models import Order
from tests.conftest import wait_for
from tests.web.second_factor import verified_client
from venues.paper import engine
from venues.paper.models import PaperRequest

pytestmark = [pytest.mark.pipeline]

BAD = {
    "negative": "-1",
    "zero": "0",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "1e400": "1e400",
    "40 decimals": "0." + "0" * 39 + "1",
    "10 KB": "7" * 10_240,
    "unicode": "١٢٣٫٤ €",
    "NUL": "1\x00",
    "unknown symbol": "NOPE/XYZ",
}
# Values no field of that kind may take (a label may well read "-1"; it may not hold a NUL).
BAD_TEXT = {name: BAD[name] for name in ("10 KB", "NUL")}
TICKET_FIELDS = {
    "amount": BAD,
    "price": BAD,
    "symbol": BAD,
    "side": BAD,
    "time_in_force": BAD,
    "account": BAD,
    "expire_time": BAD,
    "client_order_id": BAD_TEXT,
}
HISTORY_FIELDS = [
    "account", "venue", "instrument", "side", "status", "user", "date_from", "date_to", "q",
    "sort", "after",
]  # fmt: skip


@pytest.fixture
def desk(pipeline, settings):
    """A linked paper account, a trader granted it and a desk admin, both past their TOTP."""
    settings.EMSWEB_REQUIRE_2FA = True
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    account, _ = account_link(exchange_id="PAPER/FORMS", parameters={})
    wait_for(lambda: Balance.objects.filter(account=account).exists(), what="the first sync")
    users = get_user_model().objects
    trader = users.create_user("trader", password="pw-tradertradertrader")
    DeskMember.objects.create(user=trader, role=DeskRole.TRADER)
    TradingGrant.objects.create(user=trader, account=account)
    admin = users.create_superuser("boss", password="pw-bossbossboss")
    return {"account": account, "trader": verified_client(trader), "admin": verified_client(admin)}


def ticket(linked, **fields) -> dict:
    return {
        "client_order_id": "forms-fuzz",
        "account": linked.pk,
        "symbol": "BTCUSD",
        "side": "BUY",
        "amount": "0.01",
        "price": "49500",
        "time_in_force": "GOOD_TILL_TIME_EXCHANGE"
        if "expire_time" in fields
        else "GOOD_TILL_CANCEL",
        **fields,
    }


def written() -> tuple[int, int, int]:
    return Order.objects.count(), ApiKey.objects.count(), ExchangeAccount.objects.count()


def refusals(post, cases) -> list[str]:
    """Each case posted; the ones that got a 5xx or wrote something, named."""
    before, problems = written(), []
    for case, data in cases:
        status = post(data).status_code
        if status >= 500 or written() != before:
            problems.append(f"{case}: HTTP {status}, orders/keys/accounts {before} -> {written()}")
    return problems


@pytest.mark.fault(21, "ticket, API-key, link, sign-in, 2FA, history fed the fuzz values")
def test_bad_values_in_every_form_are_refused_and_nothing_is_written_or_sent(desk):
    account, trader, admin = desk["account"], desk["trader"], desk["admin"]
    cases = [
        (f"ticket {field}={name}", ticket(account, **{field: value}))
        for field, values in TICKET_FIELDS.items()
        for name, value in values.items()
    ]
    problems = refusals(lambda data: trader.post("/orders/ticket/submit/", data), cases)
    problems += refusals(
        lambda data: trader.post("/account/api-keys/", data),
        [(f"api key label={name}", {"label": value}) for name, value in BAD_TEXT.items()],
    )
    problems += refusals(
        lambda data: admin.post("/admin/accounts/exchangeaccount/link/", data),
        [(f"link exchange_id={name}", {"exchange_id": value}) for name, value in BAD.items()],
    )
    for path in ("/account/sign-in/", "/admin/login/"):
        problems += refusals(
            lambda data, path=path: Client().post(path, data),
            [
                # A username per case, so that each reaches the form and not only the lockout.
                (
                    f"{path} {field}={name}",
                    {"username": f"fuzz-{name}", "password": "x", field: value},
                )
                for field in ("username", "password")
                for name, value in BAD.items()
            ],
        )
    problems += refusals(
        lambda data: trader.post("/account/2fa/verify/", data),
        [(f"2fa token={name}", {"token": value}) for name, value in BAD.items()],
    )
    for path in ("/orders/history/", "/orders/history.csv"):
        problems += refusals(
            lambda query, path=path: trader.get(path, query),
            [
                (f"{path} {field}={name}", {field: value})
                for field in HISTORY_FIELDS
                for name, value in BAD.items()
            ],
        )
    assert problems == []
    assert not PaperRequest.objects.filter(kind=PaperRequest.Kind.SUBMIT).exists()

    # The same ticket with good values goes all the way: the refusals above were about the values.
    placed = trader.post("/orders/ticket/submit/", ticket(account))
    assert placed.status_code == 200 and Order.objects.count() == 1
    wait_for(
        lambda: PaperRequest.objects.filter(kind=PaperRequest.Kind.SUBMIT).exists(),
        what="the valid ticket's order to reach the venue",
    )
    assert AuditEvent.objects.filter(action="ORDER_PLACED").count() == 1
