"""What a /v1/ws connection may ask: the same services, checks, idempotency and audit as REST,
and a MESSAGE_REJECT naming the field, with nothing written, for anything refused."""

import json

import pytest
import simplejson
from django.utils import timezone

from accounts.models import AuditEvent, DeskMember, DeskRole
from orders.models import Order
from stream import protocol
from tests.api.conftest import ApiClient
from tests.factories import OrderFactory, UserFactory
from tests.stream.protocol.conftest import connection, new_order

pytestmark = pytest.mark.django_db

REJECT_FIELDS = {"type", "reject_reason", "exchange_id", "message", "rejected_message"}


def send(conn, message) -> list[dict]:
    text = message if isinstance(message, str) else json.dumps(message)
    answers = protocol.handle(conn=conn, text=text)
    return [simplejson.loads(answer, use_decimal=True) for answer in answers]


def rejected(conn, message) -> dict:
    [answer] = send(conn, message)
    assert answer["type"] == "MESSAGE_REJECT" and set(answer) <= REJECT_FIELDS
    return answer


def nothing_written():
    assert not Order.objects.exists()
    assert not AuditEvent.objects.filter(action="ORDER_PLACED").exists()


def test_a_new_order_is_placed_and_answered_by_the_stream_alone(account, conn, trader):
    assert send(conn, new_order()) == []
    order = Order.objects.get(client_order_id="ws-1")
    assert (order.status, order.created_by, order.created_with_key) == (
        "RECEIVED", trader, conn.api_key,
    )  # fmt: skip
    assert order.cancel_on_disconnect_key is None


def test_it_is_audited_with_the_key_and_the_clients_address(account, conn):
    send(conn, new_order())
    [placed] = AuditEvent.objects.filter(action="ORDER_PLACED")
    assert (placed.target, placed.ip) == ("ws-1", "10.0.0.9")
    assert placed.detail["api_key"] == conn.api_key.prefix


def test_the_same_request_twice_places_one_order(account, conn):
    assert send(conn, new_order()) == []
    assert send(conn, new_order()) == []
    assert Order.objects.count() == 1
    assert AuditEvent.objects.filter(action="ORDER_PLACED").count() == 1


def test_a_retry_over_the_socket_of_an_order_placed_over_rest_is_the_same_order(
    account, trader, settings
):
    settings.EMSWEB_API_ROUTING_WAIT = 0  # no worker here: REST answers 504 at once
    conn, key = connection(trader)
    body = {k: v for k, v in new_order().items() if k != "type"}
    assert ApiClient(key).post("/v1/orders", body).status_code == 504
    assert send(conn, new_order()) == []
    assert Order.objects.count() == 1


def test_another_request_with_a_used_client_order_id_is_rejected_naming_it(account, conn):
    send(conn, new_order())
    answer = rejected(conn, new_order(price=48000))
    assert answer["reject_reason"] == "OTHER" and answer["exchange_id"] == "PAPER/TEST"
    assert answer["message"].startswith("client_order_id: ")
    assert Order.objects.get().price == 49000


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]", '"ORDER_NEW_SINGLE_REQUEST"', "NaN"])
def test_what_is_not_a_json_object_is_a_json_error(conn, text):
    answer = rejected(conn, text)
    assert answer["reject_reason"] == "JSON_ERROR"
    assert answer.get("rejected_message", "") == text
    nothing_written()


@pytest.mark.parametrize(
    ("message", "named"),
    [
        ({"type": "ORDER_MODIFY_REQUEST", "exchange_id": "PAPER/TEST"}, "'ORDER_MODIFY_REQUEST'"),
        ({"type": "SERVER_INFO"}, "'SERVER_INFO'"),
        ({"type": 7}, "7"),
        ({"exchange_id": "PAPER/TEST"}, "type: Field required"),
    ],
)
def test_an_unknown_or_missing_type_is_an_invalid_type(conn, message, named):
    answer = rejected(conn, message)
    assert answer["reject_reason"] == "INVALID_TYPE" and named in answer["message"]
    assert "ORDER_NEW_SINGLE_REQUEST" in answer["message"]


@pytest.mark.parametrize(
    ("missing", "field"),
    [
        ("amount_order", "amount_order"),
        ("price", "price"),
        ("client_order_id", "client_order_id"),
        ("exchange_id", "exchange_id"),
        ("symbol_id_coinapi", "symbol_id_exchange"),
    ],
)
def test_a_missing_field_is_rejected_naming_it_and_nothing_is_written(
    account, conn, missing, field
):
    message = {k: v for k, v in new_order().items() if k != missing}
    answer = rejected(conn, message)
    assert answer["reject_reason"] == "OTHER"
    assert answer["message"].startswith(f"{field}: ")
    assert json.loads(answer["rejected_message"]) == message
    nothing_written()


def test_the_socket_and_rest_name_the_same_fields_with_the_same_words(account, trader):
    conn, key = connection(trader)
    bad = new_order(side="SIDEWAYS", amount_order="lots", expire_time="soon")
    del bad["price"]
    from_rest = simplejson.loads(
        ApiClient(key).post("/v1/orders", {k: v for k, v in bad.items() if k != "type"}).content
    )["errors"]
    answer = rejected(conn, bad)
    assert answer["message"] == "; ".join(
        f"{field}: {' '.join(messages)}" for field, messages in from_rest.items()
    )
    assert {"side", "amount_order", "price"} <= set(from_rest)


def test_an_order_the_service_refuses_is_rejected_naming_the_field(account, conn):
    answer = rejected(conn, new_order(amount_order=1000))
    assert answer["message"].startswith("amount_order: Insufficient funds")
    nothing_written()


def test_a_read_only_key_cannot_trade_here_either(account, trader):
    conn, _ = connection(trader, read_only=True)
    for message in (
        new_order(),
        {"type": "ORDER_CANCEL_ALL_REQUEST", "exchange_id": "PAPER/TEST"},
        {"type": "ORDER_CANCEL_SINGLE_REQUEST", "exchange_id": "PAPER/TEST",
         "client_order_id": "x"},
    ):  # fmt: skip
        answer = rejected(conn, message)
        assert answer["reject_reason"] == "OTHER" and "read-only" in answer["message"]
    nothing_written()


def test_a_viewers_key_is_refused_naming_the_exchange_id(account):
    viewer = UserFactory(username="vic")
    DeskMember.objects.create(user=viewer, role=DeskRole.VIEWER)
    conn, _ = connection(viewer)
    answer = rejected(conn, new_order())
    assert answer["message"] == "exchange_id: No account 'PAPER/TEST' that this key may trade."
    nothing_written()


def test_a_trader_demoted_while_connected_is_refused_from_the_next_request(account, trader, conn):
    trader.desk_member.role = DeskRole.VIEWER
    trader.desk_member.save()
    assert rejected(conn, new_order())["message"].startswith("exchange_id: ")
    nothing_written()


def test_a_key_revoked_while_connected_is_refused(account, conn):
    conn.api_key.revoked_at = timezone.now()
    conn.api_key.save()
    assert "revoked" in rejected(conn, new_order())["message"]
    nothing_written()


def test_a_cancel_is_audited_with_the_key_and_address_and_the_stream_tells_the_rest(account, conn):
    order = OrderFactory(account=account, client_order_id="c-1", status="NEW")
    message = {"type": "ORDER_CANCEL_SINGLE_REQUEST", "exchange_id": "PAPER/TEST",
               "client_order_id": "c-1"}  # fmt: skip
    assert send(conn, message) == []
    order.refresh_from_db()
    assert order.status == "PENDING_CANCEL" and order.canceled_with_key == conn.api_key
    [entry] = AuditEvent.objects.filter(action="ORDER_CANCEL")
    assert (entry.target, entry.ip, entry.detail["api_key"]) == (
        "c-1", "10.0.0.9", conn.api_key.prefix,
    )  # fmt: skip


def test_a_cancel_by_exchange_order_id_finds_the_order(account, conn):
    OrderFactory(account=account, client_order_id="c-2", exchange_order_id="X-9", status="NEW")
    message = {"type": "ORDER_CANCEL_SINGLE_REQUEST", "exchange_id": "PAPER/TEST",
               "exchange_order_id": "X-9"}  # fmt: skip
    assert send(conn, message) == []
    assert Order.objects.get().status == "PENDING_CANCEL"


def test_a_cancel_of_an_unknown_order_is_order_id_not_found(account, conn):
    message = {"type": "ORDER_CANCEL_SINGLE_REQUEST", "exchange_id": "PAPER/TEST",
               "client_order_id": "BINANCE-7d8a-4888"}  # fmt: skip
    answer = rejected(conn, message)
    assert answer == {
        "type": "MESSAGE_REJECT", "reject_reason": "ORDER_ID_NOT_FOUND",
        "exchange_id": "PAPER/TEST", "message": "Order with ID: BINANCE-7d8a-4888 not found",
        "rejected_message": json.dumps(message),
    }  # fmt: skip


def test_a_cancel_naming_no_order_is_rejected_naming_client_order_id(account, conn):
    answer = rejected(conn, {"type": "ORDER_CANCEL_SINGLE_REQUEST", "exchange_id": "PAPER/TEST"})
    assert answer["message"].startswith("client_order_id: One of client_order_id")


def test_a_cancel_of_a_finished_order_is_rejected_naming_client_order_id(account, conn):
    OrderFactory(account=account, client_order_id="done", status="FILLED")
    message = {"type": "ORDER_CANCEL_SINGLE_REQUEST", "exchange_id": "PAPER/TEST",
               "client_order_id": "done"}  # fmt: skip
    assert rejected(conn, message)["message"] == "client_order_id: Order done is FILLED."
    assert not AuditEvent.objects.filter(action="ORDER_CANCEL").exists()


def test_cancel_all_cancels_every_open_order_of_the_account_in_one_audit_entry(account, conn):
    for name in ("a", "b"):
        OrderFactory(account=account, client_order_id=name, status="NEW")
    message = {"type": "ORDER_CANCEL_ALL_REQUEST", "exchange_id": "PAPER/TEST"}
    assert send(conn, message) == []
    assert set(Order.objects.values_list("status", flat=True)) == {"PENDING_CANCEL"}
    [entry] = AuditEvent.objects.filter(action="CANCEL_ALL")
    assert (entry.target, entry.ip, entry.detail["orders"]) == ("PAPER/TEST", "10.0.0.9", "2")


def test_cancel_all_of_an_account_the_key_may_not_trade_names_exchange_id(account, conn):
    answer = rejected(conn, {"type": "ORDER_CANCEL_ALL_REQUEST", "exchange_id": "KRAKEN/NOPE"})
    assert answer["exchange_id"] == "KRAKEN/NOPE"
    assert answer["message"] == "exchange_id: No account 'KRAKEN/NOPE' that this key may trade."


def test_a_failure_inside_is_a_message_reject_never_a_crash(account, conn, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(protocol, "order_new_request", broken)
    answer = rejected(conn, new_order())
    assert answer["reject_reason"] == "OTHER" and "fire" not in answer["message"]


def test_a_long_request_is_echoed_cut_short(account, conn):
    answer = rejected(conn, new_order(client_order_id="x" * 10000))
    assert len(answer["rejected_message"]) == protocol.REJECTED_MESSAGE_MAX
