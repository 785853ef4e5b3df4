"""account_tradable, the one statement an order request finds its account with, gives exactly
what accounts_tradable(...).filter(exchange_id=...).first() gives: for every role, a grant or
none, a disabled account, an inactive user, a read-only key, a superuser, an unknown name."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiKey, DeskMember, DeskRole, TradingGrant
from accounts.selectors import account_tradable, accounts_tradable
from accounts.services import api_key_create
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

NAMES = ("PAPER/GRANTED", "PAPER/UNGRANTED", "PAPER/OFF", "PAPER/OFF-GRANTED", "PAPER/NONE")


@pytest.fixture
def accounts():
    granted = AccountFactory(exchange_id="PAPER/GRANTED")
    AccountFactory(exchange_id="PAPER/UNGRANTED")
    AccountFactory(exchange_id="PAPER/OFF", enabled=False)
    off_granted = AccountFactory(exchange_id="PAPER/OFF-GRANTED", enabled=False)
    return granted, off_granted


def people(accounts) -> list:
    """(who, user, key) for every kind of user and key the rule tells apart."""
    granted, off_granted = accounts
    found = []
    for role in (*DeskRole.values, None):
        user = UserFactory(username=f"user-{role}")
        if role is not None:
            DeskMember.objects.create(user=user, role=role)
        for account in (granted, off_granted):
            TradingGrant.objects.create(user=user, account=account)
        found.append((role, user))
    found.append(("superuser", UserFactory(username="root", is_superuser=True)))
    inactive = UserFactory(username="gone", is_active=False)
    DeskMember.objects.create(user=inactive, role=DeskRole.ADMIN)
    found.append(("inactive admin", inactive))
    ungranted = UserFactory(username="new-trader")
    DeskMember.objects.create(user=ungranted, role=DeskRole.TRADER)
    found.append(("trader without grants", ungranted))
    every = []
    for who, user in found:
        trading, _ = api_key_create(user=user, label="trading")
        reading, _ = api_key_create(user=user, label="reading", read_only=True)
        every += [(who, user, None), (who, user, trading), (f"{who}, read-only", user, reading)]
    return every


def test_it_finds_what_the_querysets_rule_finds_for_every_user_key_and_account(accounts):
    for who, user, key in people(accounts):
        key = ApiKey.objects.get(pk=key.pk) if key is not None else None
        for name in NAMES:
            expected = accounts_tradable(user=user, api_key=key).filter(exchange_id=name).first()
            found = account_tradable(user=user, api_key=key, exchange_id=name)
            assert found == expected, (who, name)
            if found is not None:
                assert found.__dict__.keys() == expected.__dict__.keys()
                assert {f: getattr(found, f) for f in vars(expected) if f != "_state"} == {
                    f: getattr(expected, f) for f in vars(expected) if f != "_state"
                }


def test_it_costs_one_statement_and_a_viewer_none(accounts):
    trader = UserFactory(username="trader")
    DeskMember.objects.create(user=trader, role=DeskRole.TRADER)
    TradingGrant.objects.create(user=trader, account=accounts[0])
    viewer = UserFactory(username="viewer")
    DeskMember.objects.create(user=viewer, role=DeskRole.VIEWER)
    account_tradable(user=trader, exchange_id="PAPER/GRANTED")  # the roles, read once
    account_tradable(user=viewer, exchange_id="PAPER/GRANTED")
    with CaptureQueriesContext(connection) as queries:
        assert account_tradable(user=trader, exchange_id="PAPER/GRANTED") == accounts[0]
        assert account_tradable(user=viewer, exchange_id="PAPER/GRANTED") is None
    assert len(queries) == 1
