"""Orders as the contract reports them: the execution report and the order-history row."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import Fill, Order, OrderEvent

HISTORY_SIDE = {"BUY": 1, "SELL": 2}


def with_report_data(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Everything execution_report reads, in three queries whatever the number of orders."""
    return orders.select_related("account", "instrument", "created_with_key").prefetch_related(
        Prefetch("events", queryset=OrderEvent.objects.order_by("at", "id")),
        Prefetch("fills", queryset=Fill.objects.order_by("time", "id")),
    )


def execution_report(order: Order) -> dict:
    """An ORDER_EXEC_REPORT_UPDATE, keys in the order the hosted EMS sends them."""
    return {
        "type": "ORDER_EXEC_REPORT_UPDATE",
        "id": order.client_order_id,
        "client_order_id_format_exchange": order.client_order_id_format_exchange,
        "exchange_order_id": order.exchange_order_id or None,
        "amount_open": order.amount_open,
        "amount_filled": order.amount_filled,
        "status": order.status,
        "status_history": [[event.status, event.at] for event in order.events.all()],
        "error_message": order.error_message or None,
        "fills": [
            {"time": fill.time, "price": fill.price, "amount": fill.amount}
            for fill in order.fills.all()
        ],
        "exchange_id": order.account.exchange_id,
        "client_order_id": order.client_order_id,
        "symbol_id_exchange": order.instrument.symbol_id_exchange,
        "symbol_id_coinapi": order.instrument.symbol_id_coinapi,
        "amount_order": order.amount_order,
        "price": order.price,
        "avg_px": order.avg_px,
        "side": order.side,
        "order_type": order.order_type,
        "time_in_force": order.time_in_force,
        "expire_time": order.expire_time,
        "exec_inst": order.exec_inst,
    }


def history_item(order: Order) -> dict:
    """An OrderHistory row: the contract's camelCase shape with parallel arrays."""
    events = list(order.events.all())
    fills = list(order.fills.all())
    return {
        "apikey": order.created_with_key.prefix if order.created_with_key else None,
        "exchangeId": order.account.exchange_id,
        "clientOrderId": order.client_order_id,
        "symbolIdExchange": order.instrument.symbol_id_exchange,
        "symbolIdCoinapi": order.instrument.symbol_id_coinapi,
        "amountOrder": order.amount_order,
        "price": order.price,
        "side": HISTORY_SIDE[order.side],
        "orderType": order.order_type,
        "timeInForce": order.time_in_force,
        "expireTime": order.expire_time,
        "execInst": order.exec_inst,
        "clientOrderIdFormatExchange": order.client_order_id_format_exchange,
        "exchangeOrderId": order.exchange_order_id or None,
        "amountOpen": order.amount_open,
        "amountFilled": order.amount_filled,
        "avgPx": order.avg_px,
        "status": order.status,
        "statusHistoryStatus": [event.status for event in events],
        "statusHistoryTime": [event.at for event in events],
        "errorMessageResult": "error" if order.error_message else None,
        "errorMessageReason": order.reject_reason or None,
        "errorMessageMessage": order.error_message or None,
        "fillsTime": [fill.time for fill in fills],
        "fillsPrice": [fill.price for fill in fills],
        "fillsAmount": [fill.amount for fill in fills],
        "createdTime": order.created_at,
    }
