"""The /v1/ws protocol, wire-compatible with the hosted EMS's WebSocket API (contract §6): what
a connection is sent when it opens (SERVER_INFO, then each visible account's snapshots), the
heartbeat, the requests it may send (a new order, one cancel, cancel all), and the bookkeeping
CANCEL_ON_DISCONNECT needs.

Plain sync functions: the consumer (stream/consumers.py) calls them with sync_to_async and sends
what they return as is. Requests go through orders/requests.py, as REST's do: the same
validation, idempotency, permissions and audit. An accepted request is answered by the stream
itself (the order's ORDER_EXEC_REPORT_UPDATE, from RECEIVED on, each with its seq), as on the
hosted EMS; a refused one by a MESSAGE_REJECT naming the field, with nothing written.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from ninja.errors import HttpError

from accounts.models import ApiKey, ExchangeAccount
from accounts.reports import balance_snapshot
from accounts.selectors import accounts_visible
from algos.requests import (
    ParentUnknown,
    sor_add_request,
    sor_control_request,
    sor_update_request,
)
from emsweb.api import wire
from orders.models import Instrument
from orders.presence import presence_drop, presence_touch
from orders.reports import execution_report, report_data
from orders.requests import (
    VIA_WS,
    OrderUnknown,
    RequestInvalid,
    RequestReadOnly,
    order_cancel_request,
    order_new_request,
    orders_cancel_all_request,
)
from orders.selectors import orders_visible
from orders.services import connection_left
from orders.statuses import WORKING_STATUSES
from positions.reports import position_snapshot
from venues.base import ExecInst

logger = logging.getLogger(__name__)

SERVER_NAME = "emsweb"
try:
    SERVER_VERSION = metadata.version("emsweb")
except metadata.PackageNotFoundError:  # a checkout run without being installed
    SERVER_VERSION = "unknown"
DNS_NAME = socket.gethostname()
# Per process start, as the hosted EMS's changes on each restart: a client that sees it change
# knows the server restarted.
INSTANCE_GUID = str(uuid.uuid4())
STARTED_AT = timezone.now()
# A MESSAGE_REJECT echoes the request it refuses (rejected_message), cut to this many characters.
REJECTED_MESSAGE_MAX = 4096


@dataclass
class ConnectionInfo:
    """One open /v1/ws connection: its id (unique across processes), the key it authenticated
    with, that key's user, and the client's address."""

    id: str
    api_key: ApiKey
    user: AbstractBaseUser
    ip: str | None


# --- what a connection is sent ----------------------------------------------------------------


def server_info(*, seq: int) -> str:
    """The heartbeat (every second, and first on open): the server, and the seq it is at."""
    return wire.dumps(
        {
            "type": "SERVER_INFO",
            "time": timezone.now(),
            "instance_guid": INSTANCE_GUID,
            "exchange_id": None,
            "server_version": SERVER_VERSION,
            "server_name": SERVER_NAME,
            "dns_name": DNS_NAME,
            "is_running": True,
            "time_server_start": STARTED_AT,
            "seq": seq,
        }
    )


def snapshots(*, user: AbstractBaseUser, seq: int, resync: bool = False) -> list[str]:
    """Per account the user sees: ORDER_EXEC_REPORT_SNAPSHOT (its open orders, as GET /v1/orders
    reports them), BALANCE_SNAPSHOT (as GET /v1/balances), POSITION_SNAPSHOT (as GET /v1/positions)
    and SYMBOLS_SNAPSHOT. Each carries `seq`: it was read after the event of that seq,
    so it shows every change up to it (and maybe a few later ones, which the updates that follow
    then repeat: each update is the full state, so applying it again changes nothing). `resync`:
    the client asked to resume from a seq older than the retention, so it must start afresh."""
    accounts = list(
        accounts_visible(user=user)
        .filter(enabled=True)
        .order_by("exchange_id")
        .prefetch_related("balances", "positions")
    )
    orders = _open_orders(user, accounts)
    symbols = _symbols({account.venue for account in accounts})
    messages = []
    for account in accounts:
        exchange_id = account.exchange_id
        for message in (
            {"type": "ORDER_EXEC_REPORT_SNAPSHOT", "exchange_id": exchange_id,
             "data": orders[exchange_id]},
            balance_snapshot(account),
            position_snapshot(account),
            {"type": "SYMBOLS_SNAPSHOT", "exchange_id": exchange_id,
             "data": _symbol_items(symbols[account.venue], account)},
        ):  # fmt: skip
            message["seq"] = seq
            if resync:
                message["resync"] = True
            messages.append(wire.dumps(message))
    return messages


def _open_orders(user, accounts: list[ExchangeAccount]) -> dict[str, list[dict]]:
    orders = orders_visible(user=user).filter(
        status__in=WORKING_STATUSES, account__in=[account.pk for account in accounts]
    )
    by_account = defaultdict(list)
    for order in report_data(orders.order_by("created_at", "id")):
        by_account[order["exchange_id"]].append(execution_report(order))
    return by_account


def _symbols(venues: set[str]) -> dict[str, list[Instrument]]:
    by_venue = defaultdict(list)
    for row in Instrument.objects.filter(venue__in=venues, active=True).order_by(
        "venue", "symbol_id_exchange"
    ):
        by_venue[row.venue].append(row)
    return by_venue


def _symbol_items(instruments: list[Instrument], account: ExchangeAccount) -> list[dict]:
    """The instruments as SYMBOLS_SNAPSHOT lists them. Base and quote are the common codes;
    the venue's own code of each comes from the account's balances where one maps them
    (Kraken's XXBT for BTC), and is the common code otherwise. The precisions are the price
    tick and the amount lot, as CoinAPI's symbol metadata gives them (0.01, not 2)."""
    own_code = {
        balance.asset_id_coinapi: balance.asset_id_exchange
        for balance in account.balances.all()
        if balance.asset_id_coinapi
    }
    return [
        {
            "symbol_id_exchange": row.symbol_id_exchange,
            "symbol_id_coinapi": row.symbol_id_coinapi,
            "asset_id_base_exchange": own_code.get(row.base, row.base),
            "asset_id_quote_exchange": own_code.get(row.quote, row.quote),
            "asset_id_base_coinapi": row.base,
            "asset_id_quote_coinapi": row.quote,
            "price_precision": row.tick_size,
            "size_precision": row.lot_size,
        }
        for row in instruments
    ]


# --- what a connection may ask ----------------------------------------------------------------


def handle(*, conn: ConnectionInfo, text: str) -> list[str]:
    """The answers to one message from the client: none when the request was accepted (the
    stream carries what follows), a MESSAGE_REJECT when it was refused. Never raises."""
    try:
        return _handle(conn, text)
    except Exception:
        logger.exception("a /v1/ws request could not be handled")
        return [
            _reject(
                "OTHER",
                "The request could not be handled: GET /v1/orders/status tells whether an "
                "order came of it.",
                text=text,
            )
        ]


class Refused(Exception):
    """A request refused: the reject_reason, the message, and the exchange it named."""

    def __init__(self, reason: str, message: str, exchange_id: Any = None):
        super().__init__(message)
        self.reason = reason
        self.exchange_id = exchange_id


def _handle(conn: ConnectionInfo, text: str) -> list[str]:
    try:
        message = _read(text)
        request = _request_for(message)
        api_key = _key_now(conn)
        try:
            answer = request(api_key, conn, message)
        except (RequestReadOnly, RequestInvalid, OrderUnknown, ParentUnknown) as refusal:
            raise _refused(refusal, message) from None
    except Refused as refused:
        return [_reject(refused.reason, str(refused), exchange_id=refused.exchange_id, text=text)]
    return [answer] if answer else []


def _read(text: str) -> dict:
    try:
        message = wire.loads(text)
    except HttpError as malformed:
        raise Refused("JSON_ERROR", str(malformed)) from None
    if not isinstance(message, dict):
        raise Refused("JSON_ERROR", "A message is a JSON object with a type.")
    return message


def _request_for(message: dict) -> Callable[[ApiKey, ConnectionInfo, dict], str | None]:
    kind = message.get("type")
    request = REQUESTS.get(kind) if isinstance(kind, str) else None
    if request is None:
        told = "type: Field required" if kind is None else f"type: {kind!r} is not a request"
        raise Refused(
            "INVALID_TYPE",
            f"{told}; this server takes {', '.join(REQUESTS)}.",
            message.get("exchange_id"),
        )
    return request


def _key_now(conn: ConnectionInfo) -> ApiKey:
    """The key and its user as they are now: a key revoked, or a user deactivated or given
    another role since the connection opened, counts from the next request."""
    api_key = (
        ApiKey.objects.select_related("user")
        .filter(pk=conn.api_key.pk, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if api_key is None:
        raise Refused("OTHER", "This API key is revoked, or its user deactivated.")
    return api_key


def _refused(refusal: Exception, message: dict) -> Refused:
    if isinstance(refusal, OrderUnknown):
        return Refused("ORDER_ID_NOT_FOUND", str(refusal), refusal.exchange_id)
    if isinstance(refusal, ParentUnknown):
        return Refused("ORDER_ID_NOT_FOUND", str(refusal))
    if isinstance(refusal, RequestInvalid):
        return Refused("OTHER", _named(refusal.errors), message.get("exchange_id"))
    return Refused("OTHER", str(refusal), message.get("exchange_id"))


def _new_order(api_key: ApiKey, conn: ConnectionInfo, message: dict) -> None:
    exec_inst = message.get("exec_inst")
    if exec_inst == ExecInst.CANCEL_ON_DISCONNECT or (
        isinstance(exec_inst, list) and ExecInst.CANCEL_ON_DISCONNECT in exec_inst
    ):
        # Seen live before the order exists, so that no sweep finds the order without its key.
        connection_alive(conn=conn)
    order_new_request(api_key=api_key, data=message, ip=conn.ip, via=VIA_WS)


def _cancel_order(api_key: ApiKey, conn: ConnectionInfo, message: dict) -> None:
    order_cancel_request(api_key=api_key, data=message, ip=conn.ip)


def _cancel_all(api_key: ApiKey, conn: ConnectionInfo, message: dict) -> None:
    orders_cancel_all_request(api_key=api_key, data=message, ip=conn.ip)


def _sor_new(api_key: ApiKey, conn: ConnectionInfo, message: dict) -> str:
    """SOR New (contract §6.4): answered at once with the parent's id; its StatusChange,
    TradeRequest and TradeFill messages follow on the stream."""
    parent = sor_add_request(api_key=api_key, data=message, ip=conn.ip)
    return wire.dumps({"type": "StatusChange", "id": str(parent.pk), "status": parent.status})


def _sor_control(action: str) -> Callable[[ApiKey, ConnectionInfo, dict], None]:
    def control(api_key: ApiKey, conn: ConnectionInfo, message: dict) -> None:
        sor_control_request(api_key=api_key, parent_id=message.get("id"), action=action, ip=conn.ip)

    return control


def _sor_change(api_key: ApiKey, conn: ConnectionInfo, message: dict) -> None:
    sor_update_request(api_key=api_key, data=message, ip=conn.ip)


REQUESTS: dict[str, Callable[[ApiKey, ConnectionInfo, dict], str | None]] = {
    "ORDER_NEW_SINGLE_REQUEST": _new_order,
    "ORDER_CANCEL_SINGLE_REQUEST": _cancel_order,
    "ORDER_CANCEL_ALL_REQUEST": _cancel_all,
    # The SOR's (algos.requests, as /v1/sor's); Pause and Resume are emsweb's own.
    "New": _sor_new,
    "Cancel": _sor_control("cancel"),
    "Pause": _sor_control("pause"),
    "Resume": _sor_control("resume"),
    "ParamChange": _sor_change,
}


def _named(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())


def _reject(reason: str, message: str, *, exchange_id: Any = None, text: str = "") -> str:
    """A MESSAGE_REJECT (contract §3.3): no exchange_id when the request named none (it is
    left out rather than null, as on REST), and the request echoed in rejected_message."""
    body = {
        "type": "MESSAGE_REJECT",
        "reject_reason": reason,
        "exchange_id": exchange_id if isinstance(exchange_id, str) else None,
        "message": message,
        "rejected_message": _text(text)[:REJECTED_MESSAGE_MAX] or None,
    }
    return wire.dumps(wire.without_nulls(body))


def _text(text: str | bytes) -> str:
    return text.decode(errors="replace") if isinstance(text, bytes) else str(text)


# --- CANCEL_ON_DISCONNECT ---------------------------------------------------------------------


def connection_alive(*, conn: ConnectionInfo) -> None:
    """The connection is up (every heartbeat): its key counts as present."""
    connections_alive(conns=[conn])


def connections_alive(*, conns: Iterable[ConnectionInfo]) -> None:
    """connection_alive for many connections in one Redis round trip: a process's heartbeat
    loop calls this once a second for all its connections."""
    try:
        presence_touch(connections=[(conn.api_key.pk, conn.id) for conn in conns])
    except Exception:
        logger.warning("could not record /v1/ws connections as live", exc_info=True)


def connection_closed(*, conn: ConnectionInfo) -> None:
    """The connection is gone: unless its key has another one, or comes back within
    EMSWEB_CANCEL_ON_DISCONNECT_GRACE, the key's CANCEL_ON_DISCONNECT orders are canceled."""
    try:
        presence_drop(api_key_id=conn.api_key.pk, connection_id=conn.id)
        connection_left(api_key_id=conn.api_key.pk)
    except Exception:
        # The periodic sweep still cancels them: the key's presence ages out on its own.
        logger.warning("could not record a /v1/ws connection as closed", exc_info=True)
