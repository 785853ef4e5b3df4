"""Signing a desk member in the way a person does when a second factor is required: password
(forced here), then a current TOTP code from a confirmed authenticator."""

from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"


def verified_client(user, **client_options) -> Client:
    """A client signed in as `user` whose second factor was verified just now."""
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=True, defaults={"name": "authenticator"}
    )
    client = Client(**client_options)
    client.force_login(user)
    token = current_code(device)
    if client_options.get("enforce_csrf_checks"):
        client.get("/account/2fa/verify/")
        verified = client.post(
            "/account/2fa/verify/", {"token": token}, headers={"X-CSRFToken": csrf_of(client)}
        )
    else:
        verified = client.post("/account/2fa/verify/", {"token": token})
    assert verified.status_code == 302, "the TOTP code was not accepted"
    return client


def csrf_of(client: Client) -> str:
    return client.cookies["csrftoken"].value
