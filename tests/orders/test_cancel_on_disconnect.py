"""CANCEL_ON_DISCONNECT: a key's orders placed with it are canceled, through the cancel service
and audited, once the key has had no live connection for longer than the grace period."""

import time

import pytest

from accounts.models import AuditEvent
from accounts.services import api_key_create
from orders.presence import LIVE_WINDOW, presence_drop, presence_touch
from orders.services import orders_cancel_disconnected
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

GRACE = 10.0


@pytest.fixture(autouse=True)
def grace(settings, redis_broker):
    settings.EMSWEB_CANCEL_ON_DISCONNECT_GRACE = GRACE
    for key in redis_broker.scan_iter("emsweb:presence:*"):  # outlives the test's database
        redis_broker.delete(key)


@pytest.fixture
def api_key():
    return api_key_create(user=UserFactory(username="cody"), label="bot")[0]


@pytest.fixture
def order(account, api_key):
    return OrderFactory(
        account=account, client_order_id="cod-1", status="NEW", cancel_on_disconnect_key=api_key
    )


def status_after_sweep(order, *, now: float) -> str:
    orders_cancel_disconnected(now=now)
    order.refresh_from_db()
    return order.status


def test_a_key_gone_for_longer_than_the_grace_has_its_orders_canceled(order, api_key):
    start = time.time()
    presence_touch(connections=[(api_key.pk, "c1")], now=start)
    presence_drop(api_key_id=api_key.pk, connection_id="c1", now=start + 1)
    assert status_after_sweep(order, now=start + 1 + GRACE + 0.5) == "PENDING_CANCEL"
    assert order.canceled_with_key == api_key and order.canceled_by is None


def test_the_cancel_is_audited_with_the_key_and_the_reason(order, api_key):
    start = time.time()
    presence_drop(api_key_id=api_key.pk, connection_id="c1", now=start)
    orders_cancel_disconnected(now=start + GRACE + 1)
    [entry] = AuditEvent.objects.filter(action="ORDER_CANCEL")
    assert entry.target == "cod-1" and entry.detail["api_key"] == api_key.prefix
    assert entry.detail["reason"].startswith("CANCEL_ON_DISCONNECT: no connection of this key")


def test_within_the_grace_the_orders_are_kept(order, api_key):
    start = time.time()
    presence_drop(api_key_id=api_key.pk, connection_id="c1", now=start)
    assert status_after_sweep(order, now=start + GRACE - 1) == "NEW"


def test_the_key_coming_back_within_the_grace_keeps_them(order, api_key):
    start = time.time()
    presence_drop(api_key_id=api_key.pk, connection_id="c1", now=start)
    presence_touch(connections=[(api_key.pk, "c2")], now=start + 5)  # back, heartbeating
    presence_touch(connections=[(api_key.pk, "c2")], now=start + GRACE + 2)
    assert status_after_sweep(order, now=start + GRACE + 2) == "NEW"


def test_another_live_connection_of_the_same_key_keeps_them(order, api_key):
    start = time.time()
    presence_touch(connections=[(api_key.pk, "c1"), (api_key.pk, "c2")], now=start)
    presence_drop(api_key_id=api_key.pk, connection_id="c1", now=start + 1)
    presence_touch(connections=[(api_key.pk, "c2")], now=start + GRACE + 5)
    assert status_after_sweep(order, now=start + GRACE + 5) == "NEW"


def test_a_stream_process_killed_without_closing_counts_as_gone_once_its_heartbeats_stop(
    order, api_key
):
    start = time.time()
    presence_touch(connections=[(api_key.pk, "c1")], now=start)  # then kill -9: no drop
    assert status_after_sweep(order, now=start + LIVE_WINDOW / 2) == "NEW"
    assert status_after_sweep(order, now=start + GRACE - 1) == "NEW"
    assert status_after_sweep(order, now=start + GRACE + 1) == "PENDING_CANCEL"


def test_a_key_redis_knows_nothing_of_gets_the_grace_from_when_the_sweep_notices(order):
    start = time.time()
    assert status_after_sweep(order, now=start) == "NEW"
    assert status_after_sweep(order, now=start + GRACE - 1) == "NEW"
    assert status_after_sweep(order, now=start + GRACE + 1) == "PENDING_CANCEL"


def test_orders_without_cancel_on_disconnect_are_never_touched(account, api_key):
    plain = OrderFactory(account=account, client_order_id="plain", status="NEW",
                         created_with_key=api_key)  # fmt: skip
    presence_drop(api_key_id=api_key.pk, connection_id="c1", now=time.time() - 60)
    assert status_after_sweep(plain, now=time.time()) == "NEW"


def test_finished_orders_and_orders_already_canceling_are_left_alone(account, api_key):
    for name, status in (("f", "FILLED"), ("p", "PENDING_CANCEL"), ("c", "CANCELED")):
        OrderFactory(account=account, client_order_id=name, status=status,
                     cancel_on_disconnect_key=api_key)  # fmt: skip
    presence_drop(api_key_id=api_key.pk, connection_id="c1", now=time.time() - 60)
    assert orders_cancel_disconnected(now=time.time()) == 0
    assert not AuditEvent.objects.filter(action="ORDER_CANCEL").exists()


def test_an_order_still_being_routed_is_canceled_once_and_audited_once(account, api_key):
    order = OrderFactory(account=account, client_order_id="r", status="ROUTING",
                         cancel_on_disconnect_key=api_key)  # fmt: skip
    presence_drop(api_key_id=api_key.pk, connection_id="c1", now=time.time() - 60)
    assert orders_cancel_disconnected(now=time.time()) == 1
    assert orders_cancel_disconnected(now=time.time()) == 0
    order.refresh_from_db()
    assert order.cancel_requested_at is not None
    assert AuditEvent.objects.filter(action="ORDER_CANCEL").count() == 1


def test_only_the_gone_keys_orders_are_canceled(account, api_key, order):
    other = api_key_create(user=UserFactory(username="stay"), label="bot")[0]
    kept = OrderFactory(account=account, client_order_id="kept", status="NEW",
                        cancel_on_disconnect_key=other)  # fmt: skip
    now = time.time()
    presence_drop(api_key_id=api_key.pk, connection_id="c1", now=now - 60)
    presence_touch(connections=[(other.pk, "c9")], now=now)
    assert status_after_sweep(order, now=now) == "PENDING_CANCEL"
    assert status_after_sweep(kept, now=now) == "NEW"
