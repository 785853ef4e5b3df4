"""/v1/orders: the EMS Trading API's order endpoints, wire-compatible with the hosted EMS."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from redis import RedisError

from accounts.audit import client_ip
from emsweb.api import wire
from emsweb.api.schemas import (
    ErrorBody,
    MessageRejectBody,
    StringOrAbsent,
    ValidationErrorBody,
    WireNumber,
)
from venues.base import OrdStatus

from .changes import changes_version
from .models import RejectReason
from .notify import routing_wait
from .reports import execution_report, history_item, report_data, reports_of, reports_selected
from .requests import (
    READ_ONLY,
    VIA_REST,
    OrderCancelAllRequest,
    OrderCancelSingleRequest,
    OrderNewSingleRequest,
    OrderUnknown,
    RequestInvalid,
    RequestReadOnly,
    order_cancel_request,
    order_new_request,
    orders_cancel_all_request,
)
from .selectors import order_named, orders_visible
from .statuses import UNANSWERED, WORKING_STATUSES

router = Router(tags=["Orders"])

# GET /v1/orders answers, kept per process (OpenOrdersAnswers).
ANSWER_KEEP_SECONDS = 1.0
ANSWERS_KEPT = 64


class Fill(Schema):
    time: str
    price: WireNumber
    amount: WireNumber


class OrderExecutionReport(Schema):
    type: str
    id: str
    client_order_id_format_exchange: str
    exchange_order_id: str | None
    amount_open: WireNumber
    amount_filled: WireNumber
    status: Literal[tuple(OrdStatus.values)]
    status_history: list[list[str]]
    error_message: str | None
    fills: list[Fill]
    exchange_id: str
    client_order_id: str
    symbol_id_exchange: str
    symbol_id_coinapi: str
    amount_order: WireNumber
    price: WireNumber
    avg_px: WireNumber
    side: str
    order_type: str
    time_in_force: str
    expire_time: str | None
    exec_inst: list[str]


class OrderHistory(Schema):
    apikey: StringOrAbsent = None
    exchangeId: str
    clientOrderId: str
    symbolIdExchange: str
    symbolIdCoinapi: str
    amountOrder: WireNumber
    price: WireNumber
    side: int
    orderType: str
    timeInForce: str
    expireTime: StringOrAbsent = None
    execInst: list[str]
    clientOrderIdFormatExchange: str
    exchangeOrderId: StringOrAbsent = None
    amountOpen: WireNumber
    amountFilled: WireNumber
    avgPx: WireNumber
    status: str
    statusHistoryStatus: list[str]
    statusHistoryTime: list[str]
    errorMessageResult: StringOrAbsent = None
    errorMessageReason: StringOrAbsent = None
    errorMessageMessage: StringOrAbsent = None
    fillsTime: list[str]
    fillsPrice: list[WireNumber]
    fillsAmount: list[WireNumber]
    createdTime: str


class CancelAllResult(Schema):
    type: str
    exchange_id: str
    message: str


ORDER_ERRORS = {400: ValidationErrorBody, 401: ErrorBody, 403: ErrorBody}


def read_only_refusal():
    return wire.json_response({"error": READ_ONLY}, 403)


@router.post(
    "/orders",
    response={200: OrderExecutionReport, 490: MessageRejectBody, 504: MessageRejectBody}
    | ORDER_ERRORS,
    summary="Send a new order",
)
def order_new(request: HttpRequest, payload: OrderNewSingleRequest):
    """Records the order, routes it, and answers with its execution report once routing has an
    outcome (or 504 after EMSWEB_API_ROUTING_WAIT seconds; the order stays tracked). A
    client_order_id that exists: the same body again returns that order; another body is a 400."""
    try:
        order = order_new_request(
            api_key=request.auth, data=payload, ip=client_ip(request), via=VIA_REST
        )
    except RequestReadOnly:
        return read_only_refusal()
    except RequestInvalid as invalid:
        return wire.validation_error(invalid.errors)

    if order.status in UNANSWERED:
        routing_wait(order)
    report = _report_of(order.pk)
    if report["status"] in UNANSWERED:
        return wire.message_reject(
            504,
            "EXCHANGE_RESPONSE_TIMEOUT",
            "Exchange didn't respond in the defined timeout. The order is tracked; "
            f"GET /v1/orders/status/{report['client_order_id']} tells what became of it.",
            exchange_id=report["exchange_id"],
        )
    if report["reject_reason"] == RejectReason.EXCHANGE_UNREACHABLE:
        return wire.message_reject(
            490,
            "EXCHANGE_UNREACHABLE",
            f"Exchange is unreachable: {report['error_message']}",
            exchange_id=report["exchange_id"],
        )
    return wire.json_response(execution_report(report))


def _report_of(pk: int) -> dict:
    return reports_of([pk])[0]


@router.get(
    "/orders", response={200: list[OrderExecutionReport], 400: ValidationErrorBody, 401: ErrorBody}
)
def orders_open(request: HttpRequest, exchange_id: str | None = None):
    """Open orders (everything not yet FILLED, CANCELED or REJECTED), the last report of each."""
    api_key = request.auth
    # The key itself (its hash: unique, never reused), not its id, which SQLite may reuse.
    caller = (api_key.key_hash, api_key.user_id, exchange_id or "")
    body = open_orders_answers.body(
        caller, partial(_open_orders_body, user=api_key.user, exchange_id=exchange_id)
    )
    return HttpResponse(body, content_type=wire.JSON)


def _open_orders_body(*, user, exchange_id: str | None) -> str:
    orders = orders_visible(user=user).filter(status__in=WORKING_STATUSES)
    if exchange_id:
        orders = orders.filter(account__exchange_id=exchange_id)
    orders = report_data(orders.order_by("created_at", "id"))
    return wire.dumps([execution_report(order) for order in orders])


class OpenOrdersAnswers:
    """This process's last GET /v1/orders body for each caller and filter, answered again while
    the desk's change counter (orders.changes) stands still, as a blotter poll is: a script
    polling its open orders then costs one Redis GET, not the reports of every order.

    An answer is kept with the counter read before it was built (a change that commits later
    bumps the counter past it), and for at most `keep_seconds` from before that read, so that a
    bump that never came (a writer killed between its commit and its INCR) or a change that
    bumps nothing (an account's exchange_id renamed) shows within that time. When Redis cannot
    be read, every answer is built afresh and none is kept."""

    def __init__(
        self, *, keep_seconds: float = ANSWER_KEEP_SECONDS, clock: Callable[[], float]
    ) -> None:
        self.keep_seconds = keep_seconds
        self.clock = clock
        self._kept: dict[tuple, tuple[int, float, str]] = {}
        self._lock = threading.Lock()

    def body(self, caller: tuple, build: Callable[[], str]) -> str:
        began = self.clock()
        try:
            version = changes_version()
        except RedisError:
            return build()
        kept = self._kept.get(caller)
        if kept is not None and kept[0] == version and began - kept[1] < self.keep_seconds:
            return kept[2]
        body = build()
        with self._lock:
            if len(self._kept) >= ANSWERS_KEPT:
                self._kept.clear()
            self._kept[caller] = (version, began, body)
        return body

    def forget(self) -> None:
        with self._lock:
            self._kept.clear()


open_orders_answers = OpenOrdersAnswers(clock=time.monotonic)


@router.get(
    "/orders/status/{path:client_order_id}",
    response={
        200: OrderExecutionReport,
        404: MessageRejectBody,
        400: ValidationErrorBody,
        401: ErrorBody,
    },
)
def order_status(request: HttpRequest, client_order_id: str):
    """The last execution report of any order, open or closed."""
    found = reports_selected(
        order_named(user=request.auth.user, client_order_id=client_order_id).values("id")
    )
    if not found:
        return wire.message_reject(
            404, "ORDER_ID_NOT_FOUND", f"Order with ID: {client_order_id} not found"
        )
    return wire.json_response(execution_report(found[0]))


@router.post(
    "/orders/cancel",
    response={200: OrderExecutionReport, 404: MessageRejectBody} | ORDER_ERRORS,
)
def order_cancel_single(request: HttpRequest, payload: OrderCancelSingleRequest):
    """Ask for one order to be canceled; its report shows PENDING_CANCEL, then CANCELED."""
    try:
        order = order_cancel_request(api_key=request.auth, data=payload, ip=client_ip(request))
    except RequestReadOnly:
        return read_only_refusal()
    except RequestInvalid as invalid:
        return wire.validation_error(invalid.errors)
    except OrderUnknown as unknown:
        return wire.message_reject(
            404,
            "ORDER_ID_NOT_FOUND",
            str(unknown),
            exchange_id=unknown.exchange_id,
            rejected_message=wire.dumps(unknown.request),
        )
    return wire.json_response(execution_report(_report_of(order.pk)))


@router.post("/orders/cancel/all", response={200: CancelAllResult} | ORDER_ERRORS)
def order_cancel_all(request: HttpRequest, payload: OrderCancelAllRequest):
    """Cancel every open order of one account; each order's report shows the cancellation."""
    try:
        account, count = orders_cancel_all_request(
            api_key=request.auth, data=payload, ip=client_ip(request)
        )
    except RequestReadOnly:
        return read_only_refusal()
    except RequestInvalid as invalid:
        return wire.validation_error(invalid.errors)
    return wire.message(
        f"Cancel requested for {count} open order(s).", exchange_id=account.exchange_id
    )


class HistoryRange(Schema):
    time_start: str
    time_end: str


def _history(request: HttpRequest, time_start: str, time_end: str):
    errors = {}
    bounds = {}
    for name, value in (("time_start", time_start), ("time_end", time_end)):
        try:
            bounds[name] = wire.parse_time(value)
        except ValueError as problem:
            errors[name] = [str(problem)]
    if errors:
        return wire.validation_error(errors)
    orders = report_data(
        orders_visible(user=request.auth.user)
        .filter(events__at__gte=bounds["time_start"], events__at__lte=bounds["time_end"])
        .distinct()
        .order_by("created_at", "id")
    )
    return wire.json_response([wire.without_nulls(history_item(order)) for order in orders])


@router.get(
    "/orders/history",
    response={200: list[OrderHistory], 400: ValidationErrorBody, 401: ErrorBody},
)
def orders_history(request: HttpRequest, range: Query[HistoryRange]):  # noqa: A002
    """Every order with a change registered between time_start and time_end (camelCase rows)."""
    return _history(request, range.time_start, range.time_end)


@router.get(
    "/orders/history/{time_start}/{time_end}",
    response={200: list[OrderHistory], 400: ValidationErrorBody, 401: ErrorBody},
    include_in_schema=False,
)
def orders_history_by_path(request: HttpRequest, time_start: str, time_end: str):
    """The 2022 form of the same endpoint, with the range in the path."""
    return _history(request, time_start, time_end)
