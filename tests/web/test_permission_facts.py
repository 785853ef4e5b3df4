"""A request asks a user's role several times (the second-factor check, then each permission):
it is read once for the user object the request loaded, and a new request sees a change."""

import pytest
from django.contrib.auth import get_user_model

from accounts.models import DeskMember, DeskRole
from accounts.selectors import accounts_tradable, may_trade_anything, user_role

pytestmark = pytest.mark.django_db


def test_a_users_role_is_read_once_per_loaded_user(desk, django_assert_num_queries):
    trader = get_user_model().objects.get(pk=desk["users"]["TRADER"].pk)
    with django_assert_num_queries(1):
        assert user_role(user=trader) == DeskRole.TRADER
        assert may_trade_anything(user=trader)
        accounts_tradable(user=trader)  # a lazy queryset: only the role is read


def test_a_changed_role_applies_to_the_user_as_the_next_request_loads_it(desk):
    trader = get_user_model().objects.get(pk=desk["users"]["TRADER"].pk)
    assert user_role(user=trader) == DeskRole.TRADER
    DeskMember.objects.filter(user=trader).update(role=DeskRole.VIEWER)
    next_request = get_user_model().objects.get(pk=trader.pk)
    assert user_role(user=next_request) == DeskRole.VIEWER
    assert not accounts_tradable(user=next_request).exists()
