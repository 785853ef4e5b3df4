"""The SOR on /v1/ws: New, ParamChange, Pause, Resume and Cancel in, through algos.requests as
/v1/sor's; StatusChange, TradeRequest and TradeFill out, on the event stream."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import simplejson

from accounts.models import DeskMember, DeskRole
from accounts.services import api_key_create
from algos.models import ParentOrder
from stream import protocol
from stream.models import StreamEvent
from tests.algos.conftest import step
from tests.factories import UserFactory

NEW = {
    "type": "New",
    "Algorithm": "TWAP",
    "Exchanges": ["PAPER/ALGO"],
    "Parameters": {
        "side": "BUY",
        "symbol": "BTCUSD",
        "amount": 0.2,
        "duration": "1MIN",
        "interval": "30SEC",
    },
}


@pytest.fixture
def conn(account):
    user = UserFactory(username="sorws")
    DeskMember.objects.create(user=user, role=DeskRole.ADMIN)
    api_key, _ = api_key_create(user=user, label="socket")
    return protocol.ConnectionInfo(id="c1", api_key=api_key, user=user, ip="10.0.0.9")


def send(conn, message) -> list[dict]:
    answers = protocol.handle(conn=conn, text=json.dumps(message))
    return [simplejson.loads(answer, use_decimal=True) for answer in answers]


def stream_messages(parent) -> list[dict]:
    rows = StreamEvent.objects.filter(kind="parent", ref_id=parent.pk).order_by("id")
    return [simplejson.loads(row.message, use_decimal=True) for row in rows]


def test_new_starts_a_parent_and_the_stream_tells_its_requests_fills_and_status(conn):
    [answer] = send(conn, NEW)
    assert answer["type"] == "StatusChange" and answer["status"] == "Running"
    parent = ParentOrder.objects.get(pk=answer["id"])
    step(parent, parent.start_at)
    step(parent, parent.start_at + timedelta(seconds=1))  # tells the fill
    assert send(conn, {"type": "Cancel", "id": answer["id"]}) == []

    told = stream_messages(parent)
    kinds = [message["type"] for message in told]
    assert kinds == ["StatusChange", "TradeRequest", "TradeFill", "StatusChange"]
    request = told[1]["request"]
    assert request["type"] == "ORDER_NEW_SINGLE_REQUEST"
    assert request["time_in_force"] == "IMMEDIATE_OR_CANCEL"
    assert told[2]["amountFilled"] == Decimal("0.1") and told[2]["exchange"] == "PAPER/ALGO"
    assert told[3]["status"] == "Cancelled"


def test_param_change_pause_and_resume(conn):
    [answer] = send(conn, NEW)
    change = {"type": "ParamChange", "id": answer["id"], "Parameters": {"limit_price": 49000}}
    assert send(conn, change) == []
    assert ParentOrder.objects.get().limit_price == Decimal(49000)
    assert send(conn, {"type": "Pause", "id": answer["id"]}) == []
    assert ParentOrder.objects.get().status == "Paused"
    assert send(conn, {"type": "Resume", "id": answer["id"]}) == []
    assert ParentOrder.objects.get().status == "Running"


def test_a_bad_request_is_a_message_reject_naming_the_field(conn):
    bad = {**NEW, "Parameters": {**NEW["Parameters"], "interval": "often"}}
    [answer] = send(conn, bad)
    assert answer["type"] == "MESSAGE_REJECT" and "interval" in answer["message"]
    [unknown] = send(conn, {"type": "Cancel", "id": "12345"})
    assert unknown["reject_reason"] == "ORDER_ID_NOT_FOUND"
    assert not ParentOrder.objects.exists()
