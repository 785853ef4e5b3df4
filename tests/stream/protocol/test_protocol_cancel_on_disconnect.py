"""CANCEL_ON_DISCONNECT on /v1/ws: accepted and tied to the connection's key; a closed
connection queues the check for when the grace ends; the sweep then cancels."""

import json
import time

import pytest

from emsweb.celery import app
from orders.models import Order
from orders.presence import presence_absent_for
from orders.services import orders_cancel_disconnected
from stream import protocol
from tests.stream.protocol.conftest import connection, new_order

pytestmark = pytest.mark.django_db
SWEEP_TASK = "orders.tasks.cancel_disconnected_orders"


@pytest.fixture
def queued(redis_broker):
    """The tasks queued on the default queue during the test: (name, eta, kwargs)."""
    app.control.purge()

    def read():
        messages = [json.loads(raw) for raw in redis_broker.lrange("default", 0, -1)]
        return [
            (m["headers"]["task"], m["headers"].get("eta"), m["headers"].get("kwargsrepr"))
            for m in messages
        ]

    yield read
    app.control.purge()


@pytest.mark.parametrize("exec_inst", [["CANCEL_ON_DISCONNECT"], "CANCEL_ON_DISCONNECT"])
def test_an_order_with_it_is_accepted_here_and_tied_to_the_connections_key(
    account, conn, exec_inst
):
    assert protocol.handle(conn=conn, text=json.dumps(new_order(exec_inst=exec_inst))) == []
    order = Order.objects.get()
    assert order.cancel_on_disconnect_key == conn.api_key
    assert order.exec_inst == ["CANCEL_ON_DISCONNECT"]
    assert presence_absent_for(api_key_id=conn.api_key.pk) == 0


def test_combined_with_maker_or_cancel_both_are_kept(account, conn):
    message = new_order(exec_inst=["MAKER_OR_CANCEL", "CANCEL_ON_DISCONNECT"])
    assert protocol.handle(conn=conn, text=json.dumps(message)) == []
    assert Order.objects.get().exec_inst == ["MAKER_OR_CANCEL", "CANCEL_ON_DISCONNECT"]


def test_closing_the_connection_queues_the_check_for_when_the_grace_ends(
    account, conn, queued, settings
):
    settings.EMSWEB_CANCEL_ON_DISCONNECT_GRACE = 10.0
    message = new_order(exec_inst=["CANCEL_ON_DISCONNECT"])
    protocol.handle(conn=conn, text=json.dumps(message))
    app.control.purge()  # the order's routing task
    protocol.connection_closed(conn=conn)
    [(task, eta, kwargs)] = queued()
    assert task == SWEEP_TASK and eta is not None
    assert str(conn.api_key.pk) in kwargs


def test_closing_a_connection_with_no_such_order_queues_nothing(account, conn, queued):
    protocol.handle(conn=conn, text=json.dumps(new_order()))
    app.control.purge()
    protocol.connection_closed(conn=conn)
    assert queued() == []


def test_the_order_is_canceled_once_the_closed_connections_key_stays_away(account, conn, settings):
    settings.EMSWEB_CANCEL_ON_DISCONNECT_GRACE = 10.0
    protocol.connection_alive(conn=conn)
    protocol.handle(conn=conn, text=json.dumps(new_order(exec_inst=["CANCEL_ON_DISCONNECT"])))
    protocol.connection_closed(conn=conn)
    orders_cancel_disconnected(now=time.time() + 5)
    assert Order.objects.get().status == "RECEIVED"
    orders_cancel_disconnected(now=time.time() + 11)
    # Never routed: a cancel before routing rejects it where it stands.
    assert Order.objects.get().status == "REJECTED"


def test_every_connection_of_a_process_is_recorded_live_in_one_call(trader):
    conns = [connection(trader, connection_id=f"c{n}")[0] for n in range(3)]
    protocol.connections_alive(conns=conns)
    assert all(presence_absent_for(api_key_id=c.api_key.pk) == 0 for c in conns)
