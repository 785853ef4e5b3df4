"""RELIABILITY.md §7 #7 on the ccxt path: definitive refusals of a create (insufficient funds,
an unknown symbol, below the minimum, a refused key, a refused nonce) end REJECTED with the
exchange's reason in words, after exactly one create and no retry; nothing is left in flight.
A refused key or nonce also raises an alert on the account, whatever call met it: recorded,
logged at ERROR without the key, counted, shown on the overview until a key check clears it."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from accounts.models import AlertKind, ExchangeAccount
from accounts.services import account_key_check
from emsweb.metrics import VENUE_ALERTS_KEY
from emsweb.redis import redis_client
from orders.models import Order, RejectReason
from orders.services import order_cancel, order_cancel_send, order_route
from orders.statuses import TERMINAL_STATUSES
from orders.sync import account_sync
from tests.reliability.ccxt_venue import ccxt_fake_fixture, sim_account, sim_submit  # noqa: F401
from tests.reliability.conftest import assert_invariants
from tests.venues.conftest import ccxt_settings, fake  # noqa: F401
from venues.base import OrdStatus

S = OrdStatus
pytestmark = pytest.mark.django_db
NONCE_AHEAD = "nonce ahead"  # another program signed with the key, far ahead of us

# (venue, refusal, HTTP status, body, words the trader reads, alert kind)
CASES = [
    ("KRAKEN", "insufficient funds", 200, {"error": ["EOrder:Insufficient funds"]},
     "Insufficient funds", ""),
    ("KRAKEN", "invalid symbol", 200, {"error": ["EQuery:Unknown asset pair"]},
     "Unknown asset pair", ""),
    ("KRAKEN", "below the minimum", 200, {"error": ["EOrder:Order minimum not met"]},
     "Order minimum not met", ""),
    ("KRAKEN", "bad key", 200, {"error": ["EAPI:Invalid key"]}, "Invalid key", AlertKind.AUTH),
    ("KRAKEN", "invalid nonce", 200, NONCE_AHEAD, "Invalid nonce", AlertKind.NONCE),
    ("BINANCE", "insufficient funds", 400,
     {"code": -2010, "msg": "Account has insufficient balance for requested action."},
     "insufficient balance", ""),
    ("BINANCE", "invalid symbol", 400, {"code": -1121, "msg": "Invalid symbol."},
     "Invalid symbol", ""),
    ("BINANCE", "below min notional", 400, {"code": -1013, "msg": "Filter failure: NOTIONAL"},
     "NOTIONAL", ""),
    ("BINANCE", "bad key (401)", 401,
     {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
     "Invalid API-key", AlertKind.AUTH),
    ("BINANCE", "timestamp outside recvWindow", 400,
     {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
     "recvWindow", AlertKind.NONCE),
    ("BINANCEFTS", "insufficient margin", 400, {"code": -2019, "msg": "Margin is insufficient."},
     "Margin is insufficient", ""),
    ("BINANCEFTS", "reduce-only rejected", 400,
     {"code": -2022, "msg": "ReduceOnly Order is rejected."}, "ReduceOnly", ""),
    ("BINANCEFTS", "bad key (401)", 401,
     {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
     "Invalid API-key", AlertKind.AUTH),
    ("BINANCEFTS", "timestamp outside recvWindow", 400,
     {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
     "recvWindow", AlertKind.NONCE),
]  # fmt: skip


def alerts_counted(venue: str, kind: str) -> int:
    return int(redis_client().hget(VENUE_ALERTS_KEY, f"{venue}|{kind}") or 0)


@pytest.mark.fault(7, "definitive refusal of a create; alert on a refused key or nonce")
@pytest.mark.parametrize(
    ("venue", "refusal", "status", "body", "words", "alert"),
    CASES,
    ids=[f"{case[0]}-{case[1]}" for case in CASES],
)
def test_a_definitive_refusal_is_rejected_once_with_its_reason_and_alerts_on_key_or_nonce(
    ccxt_fake, caplog, venue, refusal, status, body, words, alert
):
    sim, account = sim_account(ccxt_fake, venue)
    if body == NONCE_AHEAD:
        sim.nonces = {key: 10**30 for key in sim.nonces}  # the next request's is refused
    else:
        sim.next_create(takes=False, status=status, body=body)
    counted = alerts_counted(venue, alert)
    order = sim_submit(account, "refused")

    with caplog.at_level(logging.ERROR):
        order_route(order_id=order.pk)
    if alert == AlertKind.NONCE and venue == "KRAKEN":
        sim.nonces = {}  # the other program stopped: the syncs below go through
    account_sync(account_id=account.pk)
    account_sync(account_id=account.pk)

    order.refresh_from_db()
    assert (order.status, order.reject_reason) == (S.REJECTED, RejectReason.VENUE)
    assert words in order.error_message and len(order.error_message) < 500
    assert len(sim.create_requests()) == 1, "no retry"
    assert not Order.objects.filter(account=account).exclude(status__in=TERMINAL_STATUSES)
    assert sim.orders == {}
    account.refresh_from_db()
    assert account.alert_kind == alert
    if alert:
        assert words in account.alert and account.alert_at is not None
        assert alerts_counted(venue, alert) == counted + 1
        [logged] = [r for r in caplog.records if "alert" in r.getMessage()]
        assert logged.levelno == logging.ERROR and account.exchange_id in logged.getMessage()
    else:
        assert account.alert == "" and alerts_counted(venue, alert) == counted
    for secret in sim.script.secrets:
        assert secret not in caplog.text and secret not in order.error_message
        assert secret not in account.alert
    assert_invariants(account)


@pytest.mark.fault(7, "key revoked: a sync meets the refusal, the overview shows the alert")
def test_a_key_refused_during_a_sync_alerts_on_the_overview_until_a_key_check_clears_it(
    ccxt_fake, django_user_model, settings
):
    settings.EMSWEB_METRICS_TOKEN = "metrics-token"
    sim, account = sim_account(ccxt_fake, "KRAKEN")
    admin = django_user_model.objects.create_superuser("desk-admin", password="pw-admin-123")
    web = Client()
    web.force_login(admin)

    sim.key_revoked = True
    account_sync(account_id=account.pk)
    first = ExchangeAccount.objects.get(pk=account.pk).alert_at
    account_sync(account_id=account.pk)

    account.refresh_from_db()
    assert account.alert_kind == AlertKind.AUTH and "Invalid key" in account.alert
    assert account.alert_at == first, "the alert is dated from its first occurrence"
    page = web.get("/").content.decode()
    assert 'role="alert"' in page and "Key refused" in page
    scraped = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token")
    assert 'emsweb_venue_alerts_total{kind="AUTH",venue="KRAKEN"}' in scraped.content.decode()

    sim.key_revoked = False  # the admin fixed the key at the exchange, then tests it
    assert account_key_check(account_id=account.pk).ok

    account.refresh_from_db()
    assert (account.alert_kind, account.alert, account.alert_at) == ("", "", None)
    assert 'role="alert"' not in web.get("/").content.decode()
    assert_invariants(ExchangeAccount.objects.get(pk=account.pk))


@pytest.mark.fault(7, "key revoked: a cancel meets the refusal")
def test_a_key_refused_on_a_cancel_alerts_and_changes_nothing(ccxt_fake):
    sim, account = sim_account(ccxt_fake, "KRAKEN")
    order = sim_submit(account, "cancel-refused")
    order_route(order_id=order.pk)
    order_cancel(order=Order.objects.get(pk=order.pk))

    sim.key_revoked = True
    order_cancel_send(order_id=order.pk)

    account.refresh_from_db()
    assert account.alert_kind == AlertKind.AUTH and "Invalid key" in account.alert
    assert len(ccxt_fake.requests_to("/0/private/CancelOrder")) == 1, "no retry loop"
    order.refresh_from_db()
    assert order.status in (S.NEW, S.PENDING_CANCEL), "a refused cancel changes nothing"
    assert sim.held(order.client_order_id).status == "NEW"
    sim.key_revoked = False
    account_sync(account_id=account.pk)
    assert_invariants(account)
