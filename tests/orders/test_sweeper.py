"""The sweeper queues a RECEIVED order whose task was lost again, but at most once per window:
behind a long backlog, queueing every order again on every sweep would feed the backlog."""

from datetime import timedelta

import pytest
from django.utils import timezone

from emsweb.redis import redis_client
from orders import services, tasks
from tests.factories import OrderFactory
from venues.base import OrdStatus


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(tasks.route_order, "delay", sent.append)
    return sent


def test_a_lost_order_is_queued_again_once_per_window_and_at_once_after_a_flush(db, queued):
    lost = OrderFactory(status=OrdStatus.RECEIVED, created_at=timezone.now() - timedelta(minutes=1))
    OrderFactory(status=OrdStatus.RECEIVED)  # just received: its task is on its way
    OrderFactory(status=OrdStatus.NEW, created_at=timezone.now() - timedelta(minutes=1))

    assert services.orders_sweep_received() == 1
    assert services.orders_sweep_received() == 0, "queued again within the window"
    assert queued == [lost.pk]

    # The broker flushed: it lost its queues, and the sweeper's marks with them.
    redis_client().delete(*redis_client().keys("emsweb:swept:*"))
    assert services.orders_sweep_received() == 1
    assert queued == [lost.pk, lost.pk]


def test_a_cancel_that_never_went_out_is_sent_again_once_per_window(db, monkeypatch):
    """A broker that could not take the cancel task (or a venue that never answered it) leaves
    the order PENDING_CANCEL: nothing else would send it again, and it stays live at the venue."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.cancel_order, "delay", sent.append)
    redis_client().delete(*redis_client().keys("emsweb:swept:*") or ["none"])
    a_while_ago = timezone.now() - timedelta(minutes=1)
    stuck = OrderFactory(status=OrdStatus.PENDING_CANCEL, updated_at=a_while_ago)
    OrderFactory(status=OrdStatus.PENDING_CANCEL)  # just asked: its cancel is on its way
    OrderFactory(status=OrdStatus.NEW, updated_at=a_while_ago)

    tasks.sweep_received_orders()
    tasks.sweep_received_orders()

    assert sent == [stuck.pk]
