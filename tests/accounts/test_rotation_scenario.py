"""A database-only compromise and a field key rotation (RELIABILITY.md section 7, #23).

A dump of the accounts restored where the field keys are not decrypts nothing. Rotating follows
the README's procedure: the new key goes first in EMSWEB_FIELD_KEYS (workers restarted with both),
`manage.py rotate_field_keys` re-encrypts every row while a real worker keeps routing orders on
those accounts, then the old key is removed and everything still decrypts and trades.
"""

from decimal import Decimal
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core import serializers
from django.core.management import CommandError, call_command

from accounts import credentials
from accounts.models import AuditEvent, Balance, ExchangeAccount
from accounts.services import account_link, account_venue
from orders.instruments import instruments_refresh
from orders.models import Order
from tests.conftest import VAR, Worker, wait_for
from tests.reliability.conftest import assert_invariants, submit
from venues.base import OrdStatus
from venues.paper import engine

pytestmark = [pytest.mark.pipeline]
CANARY = "canary-rotation-4b1d9e7a2c"
ACCOUNTS = ("PAPER/ROT-A", "PAPER/ROT-B", "PAPER/ROT-C")


@pytest.fixture
def accounts(purge_broker, transactional_db, settings):
    """Paper accounts whose rows hold keys (encrypted under the only field key there is)."""
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    linked = []
    for exchange_id in ACCOUNTS:
        account, _ = account_link(exchange_id=exchange_id, parameters={})
        token = credentials.encrypt({"apiKey": f"{exchange_id}-{CANARY}"})
        ExchangeAccount.objects.filter(pk=account.pk).update(credentials=token)
        linked.append(account)
    return linked


def worker_with_keys(name: str, *keys: str) -> Worker:
    env = {"EMSWEB_FIELD_KEYS": ",".join(keys)}
    return Worker(name, concurrency=2, log_path=VAR / f"test-rotation-{name}.log", env=env)


def place(accounts, prefix: str, count: int) -> list[Order]:
    return [
        submit(accounts[i % len(accounts)], f"{prefix}-{i}", amount="0.01", price="49000")
        for i in range(count)
    ]


def all_new(orders: list[Order]) -> bool:
    return Order.objects.filter(pk__in=[o.pk for o in orders], status=OrdStatus.NEW).count() == len(
        orders
    )


@pytest.mark.fault(23, "accounts dumped and restored without the field keys")
def test_a_dump_without_the_keys_decrypts_nothing(accounts, settings):
    dump = StringIO()
    call_command("dumpdata", "accounts.ExchangeAccount", stdout=dump)
    assert CANARY not in dump.getvalue()

    settings.EMSWEB_FIELD_KEYS = [Fernet.generate_key().decode()]  # a clean environment
    restored = [item.object for item in serializers.deserialize("json", dump.getvalue())]
    assert {account.exchange_id for account in restored} >= set(ACCOUNTS)
    for account in restored:
        if account.credentials:
            with pytest.raises(credentials.CredentialsUnreadable):
                account_venue(account=account)


@pytest.mark.fault(23, "field keys rotated while a worker trades; old key removed")
def test_rotation_re_encrypts_every_row_while_a_worker_trades_and_the_old_key_can_go(
    accounts, settings
):
    old = settings.EMSWEB_FIELD_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.EMSWEB_FIELD_KEYS = [new, old]
    worker = worker_with_keys("both-keys", new, old)
    try:
        wait_for(
            lambda: (
                Balance.objects.filter(account__in=accounts).values("account").distinct().count()
                == len(accounts)
            ),
            what="the first sync of every account",
        )
        during = place(accounts, "before-rotation", 12)  # queued; the worker routes them as ...
        out = StringIO()
        call_command("rotate_field_keys", stdout=out)  # ... every row is re-encrypted
        during += place(accounts, "after-rotation", 6)
        wait_for(lambda: all_new(during), timeout=60, what="orders placed during rotation")
        log = worker.output()
    finally:
        worker.stop()
    assert "no configured field key" not in log, "the worker could not read an account's keys"
    assert "older keys can be removed" in out.getvalue()

    for token in ExchangeAccount.objects.exclude(credentials="").values_list(
        "credentials", flat=True
    ):
        Fernet(new).decrypt(token.encode())
        with pytest.raises(InvalidToken):
            Fernet(old).decrypt(token.encode())
    audit = AuditEvent.objects.get(action="ACCOUNT_KEYS", target="every account")
    assert audit.detail["accounts"] == str(len(accounts)) and CANARY not in str(audit.detail)

    # The old key removed everywhere: every account's keys still decrypt, and it still trades.
    settings.EMSWEB_FIELD_KEYS = [new]
    for account in ExchangeAccount.objects.filter(exchange_id__in=ACCOUNTS):
        assert credentials.decrypt(account.credentials)["apiKey"].endswith(CANARY)
    worker = worker_with_keys("new-key-only", new)
    try:
        after = place(accounts, "old-key-gone", len(accounts))
        wait_for(lambda: all_new(after), timeout=60, what="orders after the old key went")
    finally:
        worker.stop()
    for account in accounts:
        assert_invariants(account)


@pytest.mark.django_db
def test_rotation_does_not_say_the_old_key_can_go_while_a_row_still_needs_it(settings, monkeypatch):
    account, _ = account_link(exchange_id="PAPER/ROT-LATE", parameters={})
    token = credentials.encrypt({"apiKey": CANARY})  # under the old key, as if linked meanwhile
    ExchangeAccount.objects.filter(pk=account.pk).update(credentials=token)
    settings.EMSWEB_FIELD_KEYS = [Fernet.generate_key().decode(), *settings.EMSWEB_FIELD_KEYS]
    monkeypatch.setattr(
        "accounts.management.commands.rotate_field_keys.credentials_rotate", lambda: 0
    )
    with pytest.raises(CommandError, match="1 account"):
        call_command("rotate_field_keys", stdout=StringIO())
    audit = AuditEvent.objects.get(action="ACCOUNT_KEYS", target="every account")
    assert audit.detail["not_readable_by_newest_key"] == "1"
