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
