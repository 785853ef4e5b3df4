"""GET /v1/orders answered again from this process while the desk's change counter stands still
(orders.api.OpenOrdersAnswers): never stale past a change that bumped the counter, past a
second when a bump was lost, or at all without Redis; never another caller's or filter's."""

from types import SimpleNamespace

import pytest
from django.db.models import F
from redis import ConnectionError as RedisConnectionError

from accounts.models import DeskMember, DeskRole
from accounts.services import account_link, api_key_create
from orders import api as orders_api
from orders.changes import changes_bump
from orders.models import Order
from tests.factories import InstrumentFactory, OrderFactory

from .conftest import ApiClient


@pytest.fixture
def clock(monkeypatch):
    """The answers' clock, which a test moves by hand (clock.now)."""
    clock = SimpleNamespace(now=1000.0)
    answers = orders_api.OpenOrdersAnswers(clock=lambda: clock.now)
    monkeypatch.setattr(orders_api, "open_orders_answers", answers)
    return clock


@pytest.fixture
def account(db):
    account, _ = account_link(exchange_id="PAPER/ANSWERS", parameters={})
    return account


def open_order(account, client_order_id: str, **fields) -> Order:
    instrument = InstrumentFactory(venue=account.venue)
    return OrderFactory(
        account=account, instrument=instrument, client_order_id=client_order_id, **fields
    )


def listed(api, **params) -> list[str]:
    response = api.get("/v1/orders", params)
    assert response.status_code == 200
    return [report["id"] for report in response.json()]


def bumped(django_capture_on_commit_callbacks) -> None:
    """The counter bumped as a writer's commit does (the test's transaction never commits)."""
    with django_capture_on_commit_callbacks(execute=True):
        changes_bump()


def test_a_change_that_bumps_the_counter_shows_in_the_next_answer(
    api, account, clock, django_capture_on_commit_callbacks
):
    order = open_order(account, "first")
    assert listed(api) == ["first"]
    Order.objects.filter(pk=order.pk).update(status="CANCELED")
    bumped(django_capture_on_commit_callbacks)
    assert listed(api) == []


def test_with_nothing_changed_the_kept_answer_is_given_again(api, account, clock):
    order = open_order(account, "first")
    first = api.get("/v1/orders").content
    # Changed behind the counter's back: the kept answer shows it is the kept one.
    Order.objects.filter(pk=order.pk).update(amount_open=F("amount_open") / 2)
    clock.now += 0.5
    assert api.get("/v1/orders").content == first


def test_a_lost_bump_holds_an_answer_for_a_second_at_most(api, account, clock):
    order = open_order(account, "first")
    assert listed(api) == ["first"]
    Order.objects.filter(pk=order.pk).update(status="CANCELED")  # its INCR never came
    clock.now += orders_api.ANSWER_KEEP_SECONDS
    assert listed(api) == []


def test_without_redis_every_answer_is_built_afresh_and_none_kept(api, account, clock, monkeypatch):
    order = open_order(account, "first")
    assert listed(api) == ["first"]

    def unreachable():
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(orders_api, "changes_version", unreachable)
    Order.objects.filter(pk=order.pk).update(status="CANCELED")
    assert listed(api) == []
    open_order(account, "second")
    assert listed(api) == ["second"]


def test_the_exchange_filter_is_part_of_what_is_kept(api, account, clock):
    other, _ = account_link(exchange_id="PAPER/OTHER", parameters={})
    open_order(account, "mine")
    open_order(other, "theirs")
    assert listed(api, exchange_id="PAPER/ANSWERS") == ["mine"]
    assert listed(api, exchange_id="PAPER/OTHER") == ["theirs"]
    assert sorted(listed(api)) == ["mine", "theirs"]
    assert listed(api, exchange_id="PAPER/ANSWERS") == ["mine"]


def test_one_callers_answer_is_never_given_to_another(
    api, trader, account, clock, monkeypatch, django_user_model
):
    # Were visibility per user (today the whole desk sees every account), each caller's answer
    # must still be its own: narrowed here to the orders each user created.
    monkeypatch.setattr(
        orders_api, "orders_visible", lambda *, user: Order.objects.filter(created_by=user)
    )
    colleague = django_user_model.objects.create_user("jane", password="x" * 12)
    DeskMember.objects.create(user=colleague, role=DeskRole.ADMIN)
    colleague_api = ApiClient(api_key_create(user=colleague, label="jane")[1])
    open_order(account, "johns", created_by=trader)
    open_order(account, "janes", created_by=colleague)
    assert listed(api) == ["johns"]
    assert listed(colleague_api) == ["janes"]
    assert listed(api) == ["johns"]
