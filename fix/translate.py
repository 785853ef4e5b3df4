"""FIX messages to the contract's requests, and order reports to FIX messages (contract §7.2).

Requests are read into the plain dicts that orders.requests validates for every door, so a bad
field is named the same way as on /v1 (an unknown FIX code passes through as text and fails
there). Reports are the ORDER_EXEC_REPORT_UPDATE dicts the stream carries, numbers as Decimal.
The hosted EMS's choices: OrderID (37) is the client order id, SecondaryOrderID (198) the
exchange's; ExecType takes the standard values so that an OMS books fills (`changes`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import quickfix

from venues.base import ExecInst, OrdStatus, TimeInForce

# Tags, by their FIX names.
ACCOUNT = 1
AVG_PX = 6
CL_ORD_ID = 11
CUM_QTY = 14
EXEC_ID = 17
EXEC_INST = 18
SECURITY_ID_SOURCE = 22
LAST_PX = 31
LAST_QTY = 32
MSG_TYPE = 35
ORDER_ID = 37
ORDER_QTY = 38
ORD_STATUS = 39
ORD_TYPE = 40
ORIG_CL_ORD_ID = 41
PRICE = 44
REF_SEQ_NUM = 45
SECURITY_ID = 48
SIDE = 54
SYMBOL = 55
TEXT = 58
TIME_IN_FORCE = 59
TRANSACT_TIME = 60
EX_DESTINATION = 100
CXL_REJ_REASON = 102
ORD_REJ_REASON = 103
EXPIRE_TIME = 126
EXEC_TYPE = 150
LEAVES_QTY = 151
SECONDARY_ORDER_ID = 198
SECURITY_EXCHANGE = 207
CXL_REJ_RESPONSE_TO = 434
MASS_CANCEL_REQUEST_TYPE = 530
MASS_CANCEL_RESPONSE = 531
MASS_CANCEL_REJECT_REASON = 532
TOTAL_AFFECTED_ORDERS = 533
PASSWORD = 554

SIDES = {"1": "BUY", "2": "SELL"}
FIX_SIDES = {name: code for code, name in SIDES.items()}
LIMIT = "2"
TIMES_IN_FORCE = {
    "1": TimeInForce.GOOD_TILL_CANCEL,
    "3": TimeInForce.IMMEDIATE_OR_CANCEL,
    "4": TimeInForce.FILL_OR_KILL,
    "6": TimeInForce.GOOD_TILL_TIME_EXCHANGE,
}
FIX_TIMES_IN_FORCE = {name: code for code, name in TIMES_IN_FORCE.items()} | {
    TimeInForce.GOOD_TILL_TIME_OMS: "6"
}
EXEC_INSTS = {
    "6": ExecInst.MAKER_OR_CANCEL,  # participate, don't initiate
    "E": ExecInst.DO_NOT_INCREASE,
    "Q": ExecInst.CANCEL_ON_DISCONNECT,  # cancel on system failure
}
FIX_EXEC_INSTS = {name: code for code, name in EXEC_INSTS.items()}
SOURCE_EXCHANGE_SYMBOL = "8"
SOURCE_COINAPI_SYMBOL = "101"  # the custom value of CoinAPI's dictionaries

PENDING_NEW = frozenset({OrdStatus.RECEIVED, OrdStatus.ROUTING, OrdStatus.ROUTED})
FINISHED = frozenset({OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.FILLED})
ORD_STATUSES = {
    **dict.fromkeys(PENDING_NEW, "A"),
    OrdStatus.NEW: "0",
    OrdStatus.PARTIALLY_FILLED: "1",
    OrdStatus.FILLED: "2",
    OrdStatus.CANCELED: "4",
    OrdStatus.PENDING_CANCEL: "6",
    OrdStatus.REJECTED: "8",
}
EXEC_NEW, EXEC_TRADE, EXEC_CANCELED, EXEC_PENDING_CANCEL = "0", "F", "4", "6"
EXEC_REJECTED, EXEC_STATUS = "8", "I"
STATUS_EXEC_TYPES = {
    OrdStatus.CANCELED: EXEC_CANCELED,
    OrdStatus.PENDING_CANCEL: EXEC_PENDING_CANCEL,
    OrdStatus.REJECTED: EXEC_REJECTED,
}


def field(message: quickfix.Message, tag: int) -> str | None:
    return message.getField(tag) if message.isSetField(tag) else None


def msg_type(message: quickfix.Message) -> str:
    return message.getHeader().getField(MSG_TYPE)


def fix_time_to_iso(value: str | None) -> str | None:
    """A UTCTimestamp (20261203-22:15:10.123) as the ISO text the contract's requests carry."""
    if not value:
        return value
    for layout in ("%Y%m%d-%H:%M:%S.%f", "%Y%m%d-%H:%M:%S"):
        try:
            parsed = datetime.strptime(value, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
        return parsed.isoformat().replace("+00:00", "Z")
    return value  # not a timestamp: the request's validation names it


def new_order_data(message: quickfix.Message) -> dict:
    """A NewOrderSingle (35=D) as an OrderNewSingleRequest body."""
    source, security_id = field(message, SECURITY_ID_SOURCE), field(message, SECURITY_ID)
    order_type = field(message, ORD_TYPE)
    time_in_force = field(message, TIME_IN_FORCE) or "1"
    side = field(message, SIDE)
    data = {
        "exchange_id": field(message, EX_DESTINATION) or field(message, SECURITY_EXCHANGE),
        "client_order_id": field(message, CL_ORD_ID),
        "amount_order": field(message, ORDER_QTY),
        "price": field(message, PRICE),
        "side": SIDES.get(side, f"Side={side}"),
        "order_type": "LIMIT" if order_type == LIMIT else f"OrdType={order_type}",
        "time_in_force": TIMES_IN_FORCE.get(time_in_force, f"TimeInForce={time_in_force}"),
        "expire_time": fix_time_to_iso(field(message, EXPIRE_TIME)),
    }
    if security_id and source == SOURCE_COINAPI_SYMBOL:
        data["symbol_id_coinapi"] = security_id
    elif security_id and source == SOURCE_EXCHANGE_SYMBOL:
        data["symbol_id_exchange"] = security_id
    else:
        data["symbol_id_exchange"] = field(message, SYMBOL)
    exec_inst = field(message, EXEC_INST)
    if exec_inst:
        data["exec_inst"] = [EXEC_INSTS.get(code, f"ExecInst={code}") for code in exec_inst.split()]
    return {name: value for name, value in data.items() if value is not None}


def cancel_data(message: quickfix.Message) -> dict:
    """An OrderCancelRequest (35=F) as an OrderCancelSingleRequest body: OrigClOrdID names the
    client order id, else OrderID the exchange's; SecurityExchange (or ExDestination) the
    account."""
    data = {
        "exchange_id": field(message, SECURITY_EXCHANGE) or field(message, EX_DESTINATION),
        "client_order_id": field(message, ORIG_CL_ORD_ID),
    }
    if not data["client_order_id"]:
        data["exchange_order_id"] = field(message, ORDER_ID)
    return {name: value for name, value in data.items() if value is not None}


def errors_text(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())


# --- outgoing ---------------------------------------------------------------------------------


def number(value) -> str:
    """A contract number (Decimal, int, float or text) as FIX writes it: plain, no exponent."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text


def timestamp(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y%m%d-%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def new_message(begin_string: str, kind: str) -> quickfix.Message:
    message = quickfix.Message()
    header = message.getHeader()
    header.setField(quickfix.BeginString(begin_string))
    header.setField(quickfix.MsgType(kind))
    return message


def put(message: quickfix.Message, tag: int, value) -> None:
    if value is not None and value != "":
        message.setField(quickfix.StringField(tag, str(value)))


def execution_report(
    report: dict,
    *,
    begin_string: str,
    exec_id: str,
    exec_type: str,
    fill: dict | None = None,
    cum_qty=None,
    ord_status: str | None = None,
) -> quickfix.Message:
    """An ExecutionReport (35=8) of an order report. `fill`, `cum_qty` and `ord_status` describe
    one fill of several reported together (the amounts as they were after it)."""
    message = new_message(begin_string, "8")
    cum = Decimal(str(report["amount_filled"] if cum_qty is None else cum_qty))
    amount = Decimal(str(report["amount_order"]))
    if cum_qty is not None:
        leaves = amount - cum  # as it was after that fill
    else:
        leaves = Decimal(0) if report["status"] in FINISHED else Decimal(str(report["amount_open"]))
    status = report["status"]
    put(message, ORDER_ID, report["client_order_id"])
    put(message, CL_ORD_ID, report["client_order_id"])
    put(message, SECONDARY_ORDER_ID, report.get("exchange_order_id"))
    put(message, EXEC_ID, exec_id)
    put(message, EXEC_TYPE, exec_type)
    put(message, ORD_STATUS, ord_status or ORD_STATUSES[status])
    put(message, SYMBOL, report["symbol_id_exchange"])
    put(message, SECURITY_ID, report["symbol_id_coinapi"])
    put(message, SECURITY_ID_SOURCE, SOURCE_COINAPI_SYMBOL if report["symbol_id_coinapi"] else None)
    put(message, SECURITY_EXCHANGE, report["exchange_id"])
    put(message, SIDE, FIX_SIDES[report["side"]])
    put(message, ORD_TYPE, LIMIT)
    put(message, PRICE, number(report["price"]))
    put(message, ORDER_QTY, number(amount))
    put(message, TIME_IN_FORCE, FIX_TIMES_IN_FORCE.get(report["time_in_force"]))
    exec_inst = [FIX_EXEC_INSTS[name] for name in report["exec_inst"] if name in FIX_EXEC_INSTS]
    put(message, EXEC_INST, " ".join(exec_inst))
    put(message, CUM_QTY, number(cum))
    put(message, LEAVES_QTY, number(leaves))
    put(message, AVG_PX, number(report["avg_px"] or 0))
    if fill is not None:
        put(message, LAST_QTY, number(fill["amount"]))
        put(message, LAST_PX, number(fill["price"]))
    if status == OrdStatus.REJECTED:
        put(message, TEXT, report.get("error_message"))
    put(message, TRANSACT_TIME, timestamp())
    return message


def rejected_order(data: dict, *, begin_string: str, exec_id: str, text: str) -> quickfix.Message:
    """The ExecutionReport (ExecType 8) of a NewOrderSingle refused before anything was written."""
    message = new_message(begin_string, "8")
    client_order_id = data.get("client_order_id") or "NONE"
    put(message, ORDER_ID, client_order_id)
    put(message, CL_ORD_ID, client_order_id)
    put(message, EXEC_ID, exec_id)
    put(message, EXEC_TYPE, EXEC_REJECTED)
    put(message, ORD_STATUS, "8")
    put(message, ORD_REJ_REASON, "99")  # other: the text says what
    put(message, SYMBOL, data.get("symbol_id_exchange") or data.get("symbol_id_coinapi") or "NA")
    put(message, SIDE, FIX_SIDES.get(data.get("side"), "1"))
    put(message, ORDER_QTY, data.get("amount_order"))
    put(message, CUM_QTY, "0")
    put(message, LEAVES_QTY, "0")
    put(message, AVG_PX, "0")
    put(message, TEXT, text)
    put(message, TRANSACT_TIME, timestamp())
    return message


def cancel_reject(
    request: quickfix.Message, *, begin_string: str, order_status: str, reason: str, text: str
) -> quickfix.Message:
    """An OrderCancelReject (35=9) answering an OrderCancelRequest."""
    message = new_message(begin_string, "9")
    put(message, ORDER_ID, field(request, ORIG_CL_ORD_ID) or field(request, ORDER_ID) or "NONE")
    put(message, CL_ORD_ID, field(request, CL_ORD_ID) or "NONE")
    put(message, ORIG_CL_ORD_ID, field(request, ORIG_CL_ORD_ID) or "NONE")
    put(message, ORD_STATUS, order_status)
    put(message, CXL_REJ_RESPONSE_TO, "1")  # to an OrderCancelRequest
    put(message, CXL_REJ_REASON, reason)
    put(message, TEXT, text)
    return message


def mass_cancel_report(
    request: quickfix.Message, *, begin_string: str, affected: int | None, text: str = ""
) -> quickfix.Message:
    """An OrderMassCancelReport (35=r): `affected` orders asked to cancel, None when refused."""
    message = new_message(begin_string, "r")
    put(message, ORDER_ID, field(request, CL_ORD_ID) or "NONE")
    put(message, CL_ORD_ID, field(request, CL_ORD_ID))
    put(message, MASS_CANCEL_REQUEST_TYPE, field(request, MASS_CANCEL_REQUEST_TYPE) or "7")
    put(message, MASS_CANCEL_RESPONSE, "0" if affected is None else "7")
    if affected is None:
        put(message, MASS_CANCEL_REJECT_REASON, "99")
    else:
        put(message, TOTAL_AFFECTED_ORDERS, affected)
    put(message, SECURITY_EXCHANGE, field(request, SECURITY_EXCHANGE))
    put(message, TEXT, text)
    return message


# --- which reports a change makes -------------------------------------------------------------


def changes(previous: dict | None, current: dict) -> list[dict]:
    """The ExecutionReports one change of an order makes, given its report before (None: none
    was sent): each {"exec_type", "fill", "cum_qty", "ord_status"}. An order acknowledged
    (0) the first time it is past routing, whatever it became; one F per new fill, with the
    amounts as they were after it; then 4, 6 or 8 for a new cancel or reject status.
    Nothing for a change an OMS does not book (routing steps, an exchange order id)."""
    status = current["status"]
    before_status = previous["status"] if previous else None
    before_fills = previous["fills"] if previous else []
    made = []
    if before_status in PENDING_NEW | {None} and status not in PENDING_NEW | {OrdStatus.REJECTED}:
        cum_before = sum((Decimal(str(f["amount"])) for f in before_fills), Decimal(0))
        made.append(_change(EXEC_NEW, cum_qty=cum_before, ord_status="0"))
    cum = sum((Decimal(str(f["amount"])) for f in before_fills), Decimal(0))
    amount = Decimal(str(current["amount_order"]))
    for fill in current["fills"][len(before_fills) :]:
        cum += Decimal(str(fill["amount"]))
        made.append(
            _change(EXEC_TRADE, fill=fill, cum_qty=cum, ord_status="2" if cum >= amount else "1")
        )
    if status != before_status and status in STATUS_EXEC_TYPES:
        made.append(_change(STATUS_EXEC_TYPES[status]))
    return made


def _change(exec_type: str, **values) -> dict:
    return {"exec_type": exec_type, "fill": None, "cum_qty": None, "ord_status": None, **values}
