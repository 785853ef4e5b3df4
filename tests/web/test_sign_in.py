import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


def sign_in(client, username, password):
    return client.post("/account/sign-in/", {"username": username, "password": password})


def test_signing_in_and_out_is_audited(desk):
    client = Client()
    assert sign_in(client, "viewer", "pw-viewerviewerviewer").status_code == 302
    client.post("/account/sign-out/")
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "SIGN_IN", "SIGN_OUT",
    ]  # fmt: skip


@pytest.mark.fault(24, "repeated wrong passwords")
def test_repeated_failed_sign_ins_lock_the_account_out(desk, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "trader", "wrong")
    locked = sign_in(client, "trader", "pw-tradertradertrader")
    assert locked.status_code == 429
    assert AuditEvent.objects.filter(action="SIGN_IN_FAILED").count() >= settings.AXES_FAILURE_LIMIT


@pytest.mark.fault(24, "trader signs in without TOTP")
def test_a_trader_must_enrol_and_use_a_second_factor_when_it_is_required(desk, settings):
    settings.EMSWEB_REQUIRE_2FA = True
    client = Client()
    sign_in(client, "trader", "pw-tradertradertrader")
    response = client.get("/orders/ticket/")
    assert response.status_code == 302 and "/account/2fa/enrol/" in response["Location"]
    client.get("/account/2fa/enrol/")
    device = TOTPDevice.objects.get(user=desk["users"]["TRADER"])
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"
    client.post("/account/2fa/enrol/", {"token": code, "next": "/orders/ticket/"})
    assert client.get("/orders/ticket/").status_code == 200

    again = Client()
    sign_in(again, "trader", "pw-tradertradertrader")
    response = again.get("/orders/blotter/")
    assert "/account/2fa/verify/" in response["Location"]


def test_a_viewer_needs_no_second_factor(desk, settings):
    settings.EMSWEB_REQUIRE_2FA = True
    client = Client()
    sign_in(client, "viewer", "pw-viewerviewerviewer")
    assert client.get("/orders/blotter/").status_code == 200
