import pytest

from accounts.models import ExchangeAccount

pytestmark = pytest.mark.django_db
SECRET = "very-secret-private-key-1234"


def test_the_admin_links_an_account_and_never_shows_its_keys_again(admin_client):
    response = admin_client.post(
        "/admin/accounts/exchangeaccount/link/",
        {"exchange_id": "KRAKEN/DESK", "PublicApiKey": "public-key-abcd9876",
         "PrivateApiKey": SECRET},
    )  # fmt: skip
    account = ExchangeAccount.objects.get(exchange_id="KRAKEN/DESK")
    assert response.status_code == 302
    page = admin_client.get(f"/admin/accounts/exchangeaccount/{account.pk}/change/")
    content = page.content.decode()
    assert "••••1234" in content and SECRET not in content


def test_the_admin_link_form_names_a_missing_key(admin_client):
    response = admin_client.post(
        "/admin/accounts/exchangeaccount/link/", {"exchange_id": "KRAKEN/DESK"}
    )
    assert "PrivateApiKey is required for KRAKEN" in response.content.decode()
    assert not ExchangeAccount.objects.exists()


def test_orders_are_read_only_in_the_admin(admin_client):
    assert admin_client.get("/admin/orders/order/add/").status_code == 403


def test_linking_keys_granting_and_role_changes_are_audited(admin_client, django_user_model):
    from accounts.models import AuditEvent, DeskRole

    admin_client.post(
        "/admin/accounts/exchangeaccount/link/",
        {"exchange_id": "PAPER/AUD"},
    )
    trader = django_user_model.objects.create_user("tess")
    admin_client.post(
        "/admin/accounts/deskmember/add/", {"user": trader.pk, "role": DeskRole.TRADER}
    )
    account = ExchangeAccount.objects.get(exchange_id="PAPER/AUD")
    admin_client.post(
        "/admin/accounts/tradinggrant/add/", {"user": trader.pk, "account": account.pk}
    )
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["ACCOUNT_KEYS", "ROLE", "ROLE"]
