"""The API key lookup and the second it is kept for: a key revoked, a user deactivated or a role
changed anywhere stops counting within that second, and at once where this process revoked it."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import keys
from accounts.keys import KEEP_SECONDS, KeyCache, api_key_authenticate, api_key_revoke
from accounts.models import ApiKey, DeskMember, DeskRole, ExchangeAccount
from accounts.selectors import accounts_tradable
from accounts.services import api_key_create


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(keys, "_cache", KeyCache(clock=clock))
    return clock


@pytest.fixture
def user(db):
    user = get_user_model().objects.create_user("ann", password="x" * 12)
    DeskMember.objects.create(user=user, role=DeskRole.ADMIN)
    return user


@pytest.fixture
def key(user):
    return api_key_create(user=user, label="script")[1]


def statements_of(function, *args) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as queries:
        result = function(*args)
    return result, len(queries)


def test_a_key_looked_up_within_the_second_costs_no_statement(clock, key, user):
    first, asked = statements_of(api_key_authenticate, key)
    assert asked >= 1
    clock.now += KEEP_SECONDS * 0.9
    again, asked = statements_of(api_key_authenticate, key)
    assert asked == 0
    assert again.pk == first.pk and again.user.pk == user.pk and not again.read_only


def test_a_key_revoked_elsewhere_is_refused_once_the_second_since_its_lookup_has_passed(clock, key):
    api_key_authenticate(key)
    ApiKey.objects.update(revoked_at=timezone.now())  # another process's revocation
    clock.now += KEEP_SECONDS
    assert api_key_authenticate(key) is None


def test_a_user_deactivated_elsewhere_is_refused_once_the_second_has_passed(clock, key, user):
    api_key_authenticate(key)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    clock.now += KEEP_SECONDS
    assert api_key_authenticate(key) is None


def test_the_second_counts_from_before_the_read_not_from_its_answer(clock, key):
    def slow_read(execute, sql, params, many, context):
        if sql.startswith("SELECT"):  # the read; not the write of when the key was last used
            clock.now += KEEP_SECONDS * 0.6
        return execute(sql, params, many, context)

    with connection.execute_wrapper(slow_read):
        api_key_authenticate(key)
    ApiKey.objects.update(revoked_at=timezone.now())  # while the read was on its way back
    clock.now += KEEP_SECONDS * 0.4
    assert api_key_authenticate(key) is None


def test_a_key_revoked_by_this_process_is_refused_at_once(clock, key):
    api_key = api_key_authenticate(key)
    api_key_revoke(api_key=api_key)
    assert api_key_authenticate(key) is None


def test_a_role_changed_elsewhere_applies_once_the_second_has_passed(clock, key, user):
    ExchangeAccount.objects.create(exchange_id="PAPER/ANN", venue="PAPER")
    api_key = api_key_authenticate(key)
    assert accounts_tradable(user=api_key.user, api_key=api_key).exists()
    DeskMember.objects.filter(user=user).update(role=DeskRole.VIEWER)
    clock.now += KEEP_SECONDS
    api_key = api_key_authenticate(key)
    assert not accounts_tradable(user=api_key.user, api_key=api_key).exists()


def test_a_key_that_only_shares_the_kept_keys_prefix_is_refused(clock, key):
    api_key_authenticate(key)
    forged = key[: keys.PREFIX_LENGTH] + "x" * (len(key) - keys.PREFIX_LENGTH)
    assert api_key_authenticate(forged) is None


def test_what_is_kept_is_the_keys_hash_never_the_key(clock, key):
    api_key_authenticate(key)
    kept = repr(vars(keys._cache))
    assert key not in kept and key[keys.PREFIX_LENGTH :] not in kept


def test_each_request_gets_its_own_key_and_user(clock, key):
    first = api_key_authenticate(key)
    first.user.first_name = "changed by a request"
    first.read_only = True
    again = api_key_authenticate(key)
    assert again.user.first_name == "" and not again.read_only
