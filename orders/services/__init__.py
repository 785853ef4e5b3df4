"""Every write path for orders, one module per concept: submit (the ticket's check and
order_submit), route (order_route and the wait for a reconciled account), cancel (one order,
all of an account's, the kill switch, and sending them), sweep (routing lost tasks again),
disconnect (cancel on disconnect).

The web views, the API, the admin and the shell all call these. None of them calls a venue
inside a transaction: record the intent, call out, record the outcome. What a person or a script
asks for (submit, cancel, cancel all, kill switch) is written to the audit log here, once,
whichever door it came through: the door passes who asked (user, API key, address).
"""

from .cancel import (
    OrderNotCancelable,
    order_cancel,
    order_cancel_if_requested,
    order_cancel_send,
    order_request_cancel,
    orders_cancel_all,
    orders_cancel_all_send,
    orders_kill_switch,
)
from .disconnect import connection_left, orders_cancel_disconnected, orders_on_disconnect
from .flatten import FlattenReport, positions_flatten
from .route import order_route
from .submit import CheckedTicket, OrderInvalid, OrderTicket, order_submit, ticket_check
from .sweep import orders_sweep_pending_cancels, orders_sweep_received

__all__ = [
    "CheckedTicket",
    "connection_left",
    "OrderInvalid",
    "OrderNotCancelable",
    "OrderTicket",
    "FlattenReport",
    "positions_flatten",
    "order_cancel",
    "order_cancel_if_requested",
    "order_cancel_send",
    "order_request_cancel",
    "order_route",
    "order_submit",
    "orders_cancel_all",
    "orders_cancel_all_send",
    "orders_cancel_disconnected",
    "orders_kill_switch",
    "orders_on_disconnect",
    "orders_sweep_pending_cancels",
    "orders_sweep_received",
    "ticket_check",
]
