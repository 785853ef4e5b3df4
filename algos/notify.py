"""The SOR stream messages (contract §6.4): StatusChange, TradeRequest and TradeFill, written to
the event stream's outbox in the transaction of the change they announce, so /v1/ws carries
them in order with the children's own execution reports.

Each is stored once, with its message already built, on the parent's first account (the lowest
id): every account is visible to everyone on the desk, so the stream sends every event to every
connection (stream.consumers), and one event per account would send each message once per account
the parent uses. The message names the parent; its TradeRequest and TradeFill name the account.
"""

from __future__ import annotations

from emsweb.api import wire
from orders.models import Fill, Order
from stream.outbox import event_record

from .models import ParentOrder

KIND = "parent"


def _record(parent: ParentOrder, body: dict) -> None:
    account_ids = [account.pk for account in parent.accounts.all()]
    if not account_ids:
        return
    account_id = min(account_ids)
    event_record(kind=KIND, account_id=account_id, ref_id=parent.pk, message=wire.dumps(body))


def parent_changed(parent_id: int) -> None:
    parent = ParentOrder.objects.get(pk=parent_id)
    _record(
        parent,
        {
            "type": "StatusChange",
            "id": str(parent.pk),
            "status": parent.status,
            "statusInfo": parent.status_info,
        },
    )


def trade_request(parent: ParentOrder, order: Order) -> None:
    """A child placed: the ORDER_NEW_SINGLE_REQUEST it amounts to."""
    _record(
        parent,
        {
            "type": "TradeRequest",
            "id": str(parent.pk),
            "request": {
                "type": "ORDER_NEW_SINGLE_REQUEST",
                "exchange_id": order.account.exchange_id,
                "client_order_id": order.client_order_id,
                "symbol_id_exchange": order.instrument.symbol_id_exchange,
                "amount_order": order.amount_order,
                "price": order.price,
                "side": order.side,
                "order_type": order.order_type,
                "time_in_force": order.time_in_force,
            },
        },
    )


def trade_fill(parent: ParentOrder, fill: Fill) -> None:
    _record(
        parent,
        {
            "type": "TradeFill",
            "id": str(parent.pk),
            "exchange": fill.order.account.exchange_id,
            "client_order_id": fill.order.client_order_id,
            "amountFilled": fill.amount,
            "price": fill.price,
            "timeStamp": wire.format_time(fill.time),
        },
    )
