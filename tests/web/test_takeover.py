"""Account takeover attempts (RELIABILITY.md section 7, #24): a trader without a second factor,
a key change without a fresh one (step-up), a cross-site POST without a CSRF token, one user
after another's orders and keys by id. Each is refused, and each refusal is on the record."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey, AuditEvent, ExchangeAccount
from accounts.services import api_key_create
from orders.models import Order
from tests.factories import OrderFactory
from tests.web.conftest import client_for
from tests.web.second_factor import csrf_of, verified_client
from tests.web.test_roles import TICKET

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def second_factor_required(settings):
    settings.EMSWEB_REQUIRE_2FA = True


def refusals(change: str) -> int:
    return AuditEvent.objects.filter(action="TWO_FACTOR", detail__change=change).count()


@pytest.mark.fault(24, "trader signed in by password only posts an order")
def test_a_trader_without_a_second_factor_cannot_place_and_the_attempt_is_audited(desk):
    password_only = client_for(desk["users"]["TRADER"])
    response = password_only.post(
        "/orders/ticket/submit/", {**TICKET, "account": desk["account"].pk}
    )
    assert response.status_code == 302 and "/account/2fa/" in response["Location"]
    assert not Order.objects.exists()
    assert refusals("refused: no second factor") == 1

    verified = verified_client(desk["users"]["TRADER"])
    verified.post("/orders/ticket/submit/", {**TICKET, "account": desk["account"].pk})
    assert Order.objects.count() == 1, "with the second factor the same ticket is placed"


@pytest.mark.fault(24, "API key created with a second factor verified 6 minutes ago")
def test_creating_an_api_key_needs_a_second_factor_verified_lately(desk):
    trader = verified_client(desk["users"]["TRADER"])
    later = timezone.now() + timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        stale = trader.post("/account/api-keys/", {"label": "script"})
        assert stale.status_code == 302 and "/account/2fa/verify/" in stale["Location"]
        assert "next=%2Faccount%2Fapi-keys%2F" in stale["Location"]
        assert not ApiKey.objects.exists()
        assert refusals("refused: step-up code needed") == 1

    with time_machine.travel(later + timedelta(seconds=31), tick=False):  # the next TOTP step
        stepped_up = verified_client(desk["users"]["TRADER"])
        assert stepped_up.post("/account/api-keys/", {"label": "script"}).status_code == 200
        assert ApiKey.objects.filter(user=desk["users"]["TRADER"]).count() == 1


@pytest.mark.fault(24, "cross-site POSTs without a CSRF token")
def test_a_cross_site_post_without_a_csrf_token_is_refused(desk):
    trader = verified_client(desk["users"]["TRADER"], enforce_csrf_checks=True)
    order = OrderFactory(account=desk["account"], status="NEW")
    attempts = {
        "/orders/ticket/submit/": {**TICKET, "account": desk["account"].pk},
        f"/orders/{order.pk}/cancel/": {},
        "/account/api-keys/": {"label": "from elsewhere"},
        "/orders/blotter/kill-switch/": {"confirm": "CANCEL ALL"},
    }
    for path, data in attempts.items():
        assert trader.post(path, data).status_code == 403, path
    assert Order.objects.count() == 1 and not ApiKey.objects.exists()
    order.refresh_from_db()
    assert order.cancel_requested_at is None
    refused = AuditEvent.objects.filter(action="REFUSED", actor=desk["users"]["TRADER"])
    assert sorted(refused.values_list("target", flat=True)) == sorted(
        f"POST {path}" for path in attempts
    )
    assert {event.detail["status"] for event in refused} == {"403"}

    # The same POST with the token the page gave is accepted: the 403s were about the token.
    trader.get("/account/api-keys/")
    with_token = trader.post(
        "/account/api-keys/", {"label": "mine"}, headers={"X-CSRFToken": csrf_of(trader)}
    )
    assert with_token.status_code == 200 and ApiKey.objects.count() == 1


@pytest.mark.fault(24, "user A cancels B's order and revokes B's API key by id")
def test_a_user_cannot_cancel_or_revoke_another_users_objects_by_id(desk):
    trader = verified_client(desk["users"]["TRADER"])
    theirs = OrderFactory(account=desk["other"], status="NEW")
    their_key, _ = api_key_create(user=desk["users"]["ADMIN"], label="admin's")

    assert trader.post(f"/orders/{theirs.pk}/cancel/").status_code in (403, 404)
    assert trader.post(f"/account/api-keys/{their_key.pk}/revoke/").status_code == 404

    theirs.refresh_from_db()
    their_key.refresh_from_db()
    assert theirs.cancel_requested_at is None and theirs.status == "NEW"
    assert their_key.revoked_at is None
    refused = AuditEvent.objects.get(action="API_KEY", actor=desk["users"]["TRADER"])
    assert refused.detail["change"] == f"revoke {their_key.pk} refused"
    attempts = AuditEvent.objects.filter(action="REFUSED", actor=desk["users"]["TRADER"])
    assert set(attempts.values_list("target", flat=True)) == {
        f"POST /orders/{theirs.pk}/cancel/",
        f"POST /account/api-keys/{their_key.pk}/revoke/",
    }


def test_an_api_call_with_a_bad_key_is_on_the_record_and_a_refused_read_is_not(desk):
    api = Client()
    posted = api.post(
        "/v1/orders", {}, content_type="application/json", headers={"X-CoinAPI-Key": "nope"}
    )
    assert posted.status_code == 401
    assert api.get("/v1/orders", headers={"X-CoinAPI-Key": "nope"}).status_code == 401
    refused = AuditEvent.objects.get(action="REFUSED")
    assert refused.target == "POST /v1/orders" and refused.actor is None
    assert refused.detail == {"status": "401"}  # no key was accepted: none to name


def test_a_viewer_creates_an_api_key_without_a_step_up(desk):
    viewer = Client()
    viewer.force_login(desk["users"]["VIEWER"])
    assert viewer.post("/account/api-keys/", {"label": "reports"}).status_code == 200
    assert ApiKey.objects.filter(user=desk["users"]["VIEWER"]).count() == 1


def sign_in_from(address: str, password: str, *, via_proxy: str = "198.51.100.9"):
    """A sign-in as the trader, arriving from `via_proxy` and claiming to be `address`."""
    return Client().post(
        "/account/sign-in/",
        {"username": "trader", "password": password},
        REMOTE_ADDR=via_proxy,
        HTTP_X_FORWARDED_FOR=address,
    )


@pytest.mark.fault(24, "wrong passwords through a proxy; spoofed X-Forwarded-For")
def test_wrong_passwords_lock_out_the_client_behind_the_proxy_and_the_log_names_it(desk, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 1  # one trusted proxy in front (AXES_PROXY_COUNT)
    for attempt in range(10):
        # The proxy appends the address it saw; the client forges a new one to its left.
        sign_in_from(f"10.9.9.{attempt}, 203.0.113.7", "wrong")
    assert sign_in_from("10.9.9.99, 203.0.113.7", "pw-tradertradertrader").status_code == 429
    assert sign_in_from("203.0.113.8", "pw-tradertradertrader").status_code == 302
    failed = AuditEvent.objects.filter(action="SIGN_IN_FAILED")
    assert failed.count() >= 10 and set(failed.values_list("ip", flat=True)) == {"203.0.113.7"}


def test_without_a_trusted_proxy_a_forged_forwarded_for_neither_dodges_nor_lies(desk):
    for attempt in range(10):
        sign_in_from(f"203.0.113.{attempt}", "wrong")  # a new address claimed each time
    assert sign_in_from("203.0.113.99", "pw-tradertradertrader").status_code == 429
    logged = AuditEvent.objects.filter(action="SIGN_IN_FAILED").values_list("ip", flat=True)
    assert set(logged) == {"198.51.100.9"}, "the log holds the address that connected"


@pytest.mark.fault(24, "admin links an account / enables trading with a stale code")
def test_the_admin_site_needs_a_second_factor_and_a_fresh_one_for_every_change(
    desk, django_user_model
):
    boss = django_user_model.objects.create_superuser("boss", password="pw-bossbossboss")
    password_only = client_for(boss)
    entered = password_only.get("/admin/")
    assert entered.status_code == 302 and "/account/2fa/enrol/" in entered["Location"]

    ExchangeAccount.objects.filter(pk=desk["other"].pk).update(enabled=False)
    admin = verified_client(boss)
    later = timezone.now() + timedelta(minutes=6)
    with time_machine.travel(later, tick=False):
        assert admin.get("/admin/accounts/exchangeaccount/").status_code == 200  # reads pass
        changes = {
            "/admin/accounts/exchangeaccount/link/": {"exchange_id": "PAPER/NEW"},
            f"/admin/accounts/exchangeaccount/{desk['other'].pk}/change/": {"enabled": "on"},
        }
        for path, data in changes.items():
            refused = admin.post(path, data)
            assert refused.status_code == 302 and "/account/2fa/verify/" in refused["Location"]
        assert not ExchangeAccount.objects.filter(exchange_id="PAPER/NEW").exists()
        assert not ExchangeAccount.objects.get(pk=desk["other"].pk).enabled
        assert refusals("refused: step-up code needed") == 2

    with time_machine.travel(later + timedelta(seconds=31), tick=False):
        stepped_up = verified_client(boss)
        linked = stepped_up.post(
            "/admin/accounts/exchangeaccount/link/", {"exchange_id": "PAPER/NEW"}
        )
        assert linked.status_code == 302
        assert ExchangeAccount.objects.filter(exchange_id="PAPER/NEW").exists()
