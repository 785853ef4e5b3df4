import pytest
from django.urls import reverse

from tests.paper.helpers import ACCOUNT_KEY, intent
from venues.paper import engine
from venues.paper.models import PaperAccount, PaperMarket, PaperOrder, PaperTrade

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [PaperAccount, PaperMarket, PaperOrder, PaperTrade])
def test_every_paper_table_can_be_inspected_in_the_admin(admin_client, model):
    engine.order_submit(ACCOUNT_KEY, intent(amount="0.1", price="50010"))
    row = model.objects.first()
    meta = model._meta

    listing = admin_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    detail = admin_client.get(
        reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[row.pk])
    )

    assert (listing.status_code, detail.status_code) == (200, 200)


def test_an_accounts_fault_can_be_set_in_the_admin(admin_client):
    account = engine.account_get(ACCOUNT_KEY)
    url = reverse("admin:paper_paperaccount_change", args=[account.pk])

    response = admin_client.post(
        url,
        {
            "fault": "UNREACHABLE",
            "latency_ms": "0",
            "fault_delay_ms": "0",
            # The balances inline is read-only, but its management form must still be sent.
            "balances-TOTAL_FORMS": "5",
            "balances-INITIAL_FORMS": "5",
            "balances-MIN_NUM_FORMS": "0",
            "balances-MAX_NUM_FORMS": "1000",
            **{f"balances-{i}-id": str(b.pk) for i, b in enumerate(account.balances.all())},
        },
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.fault == "UNREACHABLE"
