"""A canary secret goes in; it must never come out in clear anywhere."""

import logging

import pytest
from celery.signals import before_task_publish
from django.apps import apps
from django.core import serializers

from accounts.models import ExchangeAccount
from accounts.services import account_link
from orders.tasks import sync_account
from tests.conftest import wait_for

CANARY = "canary-7f3a9c1e5b2d4e6f"
pytestmark = [pytest.mark.pipeline]


@pytest.fixture
def published():
    messages = []

    def capture(body=None, headers=None, **kwargs):
        messages.append(repr(body) + repr(headers))

    before_task_publish.connect(capture, weak=False)
    yield messages
    before_task_publish.disconnect(capture)


def every_row_as_text() -> str:
    return "".join(
        serializers.serialize("json", model.objects.all()) for model in apps.get_models()
    )


@pytest.mark.fault(22, "canary secret linked; pages, API, logs, tasks, db searched")
def test_a_canary_secret_never_appears_in_clear(pipeline, published, caplog, admin_client):
    caplog.set_level(logging.DEBUG)
    account, _ = account_link(
        exchange_id="KRAKEN/CANARY",
        parameters={"PublicApiKey": f"public-{CANARY}", "PrivateApiKey": CANARY},
    )
    sync_account.delay(account.pk)
    wait_for(
        lambda: ExchangeAccount.objects.get(pk=account.pk).last_sync_error,
        what="the worker to try the account",
    )

    pages = [
        admin_client.get("/admin/accounts/exchangeaccount/").content.decode(),
        admin_client.get(f"/admin/accounts/exchangeaccount/{account.pk}/change/").content.decode(),
        admin_client.get("/admin/accounts/exchangeaccount/link/").content.decode(),
    ]
    assert "••••" in pages[1]
    assert published, "the test must have seen the task messages"
    for place, text in [
        ("database", every_row_as_text()),
        ("task messages", "".join(published)),
        ("this process's log", caplog.text),
        ("the worker's log", pipeline.output()),
        ("admin pages", "".join(pages)),
    ]:
        assert CANARY not in text, f"the canary secret leaked into {place}"
