"""Sequence numbers and the stream position across a gateway restart, with an initiator that does
not reset on logon: the gap is resent from the store, what happened meanwhile is reported once,
and a duplicate ClOrdID after the restart sends nothing twice."""

from __future__ import annotations

import pytest

from orders.models import Order
from orders.services import order_cancel, orders_sweep_received
from tests.conftest import wait_for
from tests.fix.conftest import GatewayProcess
from tests.fix.test_orders import new_order
from venues.paper import engine

pytestmark = [pytest.mark.pipeline]


def routed(client_order_id: str) -> bool:
    return Order.objects.get(client_order_id=client_order_id).status != "RECEIVED"


def forget_received(directory, *, next_expected: int) -> None:
    """Make the initiator's store expect an earlier sequence number from the gateway (as if
    what followed had been lost): its next logon then asks for the gap."""
    [seqnums] = (directory / "store").glob("*.seqnums")
    sender, _ = seqnums.read_text().split(" : ")
    seqnums.write_text(f"{sender} : {next_expected:010d}")


def test_a_restart_resends_the_gap_reports_what_happened_and_sends_nothing_twice(
    account, trading_key, connect, gateway, tmp_path
):
    api_key, key = trading_key
    oms = connect(api_key, key, name="oms", reset=False)
    oms.send("D", new_order("keep-1"))
    [ack] = oms.application.expect("8", _150="0", _11="keep-1")
    ack_seq = int(ack[34])
    oms.close()
    gateway.stop()

    # While the gateway is down: the order is canceled from the desk.
    order_cancel(order=Order.objects.get(client_order_id="keep-1"))
    restarted = GatewayProcess(gateway.directory, port=gateway.port)
    try:
        forget_received(tmp_path / "oms", next_expected=ack_seq)
        again = connect(api_key, key, name="oms", reset=False)
        [resent] = again.application.expect("8", _150="0", _11="keep-1", _43="Y")
        assert resent[17] == ack[17]  # the same ExecID, marked PossDupFlag
        [canceled] = again.application.expect("8", _150="4", _11="keep-1")
        assert int(canceled[34]) > ack_seq

        again.send("D", new_order("keep-1"))  # the same order again: an OMS's retry
        again.send("D", new_order("keep-2"))
        again.application.expect("8", _150="0", _11="keep-2")
        fresh_acks = [
            m for m in again.application.messages("8", _150="0", _11="keep-1") if m.get(43) != "Y"
        ]
        assert fresh_acks == [] and Order.objects.filter(client_order_id="keep-1").count() == 1
    finally:
        restarted.stop()


@pytest.mark.fault(12, "FIX gateway killed between a NewOrderSingle and its ExecutionReport")
def test_a_gateway_killed_before_the_report_sends_it_after_the_restart_and_the_order_is_one(
    account, trading_key, connect, gateway
):
    api_key, key = trading_key
    engine.set_knobs(account.exchange_id, latency_ms=2000)  # the venue takes its time to answer
    oms = connect(api_key, key, name="oms", reset=False)
    oms.send("D", new_order("killed-1"))
    wait_for(lambda: Order.objects.filter(client_order_id="killed-1").exists(), what="the order")
    gateway.stop(kill=True)
    assert not oms.application.messages("8", _11="killed-1")

    restarted = GatewayProcess(gateway.directory, port=gateway.port)
    try:
        oms.wait_logged_on()  # QuickFIX reconnects by itself, sequence numbers kept
        # Killed after the commit, the order's routing task may never have been queued: beat's
        # sweep (which these tests run themselves) queues it again, as after any lost task.
        wait_for(lambda: orders_sweep_received() >= 0 and routed("killed-1"), what="routing")
        [ack] = oms.application.expect("8", _150="0", _11="killed-1")
        oms.send("D", new_order("killed-2"))
        oms.application.expect("8", _150="0", _11="killed-2")
        assert len(oms.application.messages("8", _150="0", _11="killed-1")) == 1
        assert Order.objects.filter(client_order_id="killed-1").count() == 1
    finally:
        restarted.stop()
