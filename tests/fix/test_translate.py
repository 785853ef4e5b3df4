"""The hosted EMS's FIX mapping, message by message, without a session."""

from __future__ import annotations

from decimal import Decimal

import pytest

quickfix = pytest.importorskip("quickfix")

from fix import translate as t  # noqa: E402


def report(status: str, fills=(), **fields) -> dict:
    filled = sum((Decimal(amount) for _, amount in fills), Decimal(0))
    return {
        "client_order_id": "c-1", "exchange_order_id": "X-1", "status": status,
        "amount_order": Decimal("0.1"), "amount_filled": filled,
        "amount_open": Decimal("0.1") - filled, "avg_px": Decimal(0), "price": Decimal("50000"),
        "fills": [{"time": "t", "price": Decimal(price), "amount": Decimal(amount)}
                  for price, amount in fills],
        "symbol_id_exchange": "BTCUSD", "symbol_id_coinapi": "PAPER_SPOT_BTC_USD",
        "exchange_id": "PAPER/FIX", "side": "BUY", "time_in_force": "GOOD_TILL_CANCEL",
        "exec_inst": ["MAKER_OR_CANCEL", "CANCEL_ON_DISCONNECT"], "error_message": None,
        **fields,
    }  # fmt: skip


def kinds(previous, current) -> list[tuple]:
    return [(c["exec_type"], c["ord_status"], c["cum_qty"]) for c in t.changes(previous, current)]


def test_routing_steps_make_no_report_and_the_venue_taking_the_order_makes_a_new_one():
    assert kinds(None, report("RECEIVED")) == []
    assert kinds(report("RECEIVED"), report("ROUTED")) == []
    assert kinds(report("ROUTED"), report("NEW")) == [("0", "0", Decimal(0))]
    assert kinds(report("NEW"), report("NEW", exchange_order_id="X-2")) == []


def test_an_order_filled_at_once_is_acknowledged_then_one_trade_report_per_fill():
    filled = report("FILLED", fills=[("50001", "0.04"), ("50002", "0.06")])
    made = t.changes(report("ROUTING"), filled)
    assert [(c["exec_type"], c["ord_status"], c["cum_qty"]) for c in made] == [
        ("0", "0", Decimal(0)), ("F", "1", Decimal("0.04")), ("F", "2", Decimal("0.10")),
    ]  # fmt: skip
    assert [c["fill"]["price"] for c in made[1:]] == [Decimal("50001"), Decimal("50002")]


def test_cancel_and_reject_statuses_make_their_exec_types():
    assert kinds(report("NEW"), report("PENDING_CANCEL")) == [("6", None, None)]
    assert kinds(report("PENDING_CANCEL"), report("CANCELED")) == [("4", None, None)]
    assert kinds(report("ROUTING"), report("REJECTED")) == [("8", None, None)]


def test_an_execution_report_carries_the_hosted_ems_fields():
    fill = {"price": Decimal("50001"), "amount": Decimal("0.04")}
    message = t.execution_report(
        report("PARTIALLY_FILLED", fills=[("50001", "0.04")]), begin_string="FIX.4.4",
        exec_id="7.1", exec_type="F", fill=fill, cum_qty=Decimal("0.04"), ord_status="1",
    )  # fmt: skip
    fields = {tag: message.getField(tag) for tag in (37, 198, 150, 39, 14, 151, 31, 32, 18, 22)}
    assert fields == {
        37: "c-1", 198: "X-1", 150: "F", 39: "1", 14: "0.04", 151: "0.06", 31: "50001",
        32: "0.04", 18: "6 Q", 22: "101",
    }  # fmt: skip


def new_order_single(fields: dict) -> quickfix.Message:
    message = t.new_message("FIX.4.4", "D")
    for tag, value in {11: "c-1", 100: "PAPER/FIX", 55: "BTCUSD", 54: "2", 38: "0.1", 40: "2",
                       44: "50000", 59: "3", **fields}.items():  # fmt: skip
        message.setField(quickfix.StringField(tag, value))
    return message


def test_a_new_order_single_reads_as_the_contract_request():
    message = new_order_single({18: "6 E", 48: "PAPER_SPOT_BTC_USD", 22: "101"})
    assert t.new_order_data(message) == {
        "exchange_id": "PAPER/FIX", "client_order_id": "c-1", "amount_order": "0.1",
        "price": "50000", "side": "SELL", "order_type": "LIMIT",
        "time_in_force": "IMMEDIATE_OR_CANCEL", "symbol_id_coinapi": "PAPER_SPOT_BTC_USD",
        "exec_inst": ["MAKER_OR_CANCEL", "DO_NOT_INCREASE"],
    }  # fmt: skip


def test_unknown_fix_codes_pass_through_as_text_for_the_request_check_to_name():
    data = t.new_order_data(new_order_single({40: "1", 59: "0", 18: "G"}))
    assert (data["order_type"], data["time_in_force"]) == ("OrdType=1", "TimeInForce=0")
    assert data["exec_inst"] == ["ExecInst=G"]
    assert t.fix_time_to_iso("20261203-22:15:10.123") == "2026-12-03T22:15:10.123000Z"
