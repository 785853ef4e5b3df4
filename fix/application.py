"""The QuickFIX application: the Logon's key checked, and the order messages answered through the
same request functions as /v1 (orders.requests).

QuickFIX calls these methods from its own threads, each thread's calls with the database connection
of its earlier ones (fix.connections: one per FIX connection). A Python exception that is not one of
QuickFIX's own would end the process (its SWIG wrapper exits), so every callback catches
everything else: an order message that fails that way is answered by a BusinessMessageReject.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import quickfix
from django.db import close_old_connections

from accounts.models import ApiKey
from emsweb.api.auth import api_key_authenticate
from orders.reports import execution_report as order_report
from orders.reports import report_data
from orders.requests import (
    VIA_FIX,
    OrderUnknown,
    RequestInvalid,
    RequestReadOnly,
    order_cancel_request,
    order_new_request,
    orders_cancel_all_request,
)
from orders.selectors import order_named

from . import translate as t
from .connections import thread_connections_close, with_thread_connections

logger = logging.getLogger(__name__)
LOGON = "A"


def own_exec_id() -> str:
    """The ExecID of a report that is not a stream event's (those are "<seq>.<n>")."""
    return f"X{uuid.uuid4().hex[:16]}"


def refusal_text(refusal: RequestInvalid | RequestReadOnly) -> str:
    if isinstance(refusal, RequestInvalid):
        return t.errors_text(refusal.errors)
    return str(refusal)


class SessionEvents:
    """What the gateway is told of its sessions (fix.gateway.Gateway implements it)."""

    def key_of(self, session_id: quickfix.SessionID) -> ApiKey | None: ...
    def logged_on(self, session_id: quickfix.SessionID) -> None: ...
    def logged_out(self, session_id: quickfix.SessionID) -> None: ...


class GatewayApplication(quickfix.Application):
    def __init__(self, sessions: SessionEvents):
        super().__init__()
        self.sessions = sessions

    # --- session layer ---------------------------------------------------------------------

    def onCreate(self, session_id):
        pass

    def onLogon(self, session_id):
        with_thread_connections(self._guarded, self.sessions.logged_on, session_id)

    def onLogout(self, session_id):
        with_thread_connections(self._guarded, self.sessions.logged_out, session_id)

    def toAdmin(self, message, session_id):
        pass

    def toApp(self, message, session_id):
        pass

    def fromAdmin(self, message, session_id):
        if t.msg_type(message) == LOGON:
            with_thread_connections(self._logon_check, message, session_id)

    def _logon_check(self, message, session_id) -> None:
        try:
            refusal = self._logon_refusal(message, session_id)
        except Exception:
            logger.exception("FIX logon check failed")
            refusal = "The logon could not be checked: try again."
        if refusal:
            logger.info("FIX logon refused on %s: %s", session_id.toString(), refusal)
            thread_connections_close()  # no logon, so no logout either
            raise quickfix.RejectLogon(refusal)

    def _logon_refusal(self, message, session_id) -> str:
        close_old_connections()
        key = self.sessions.key_of(session_id)
        presented = api_key_authenticate(t.field(message, t.PASSWORD))
        if key is None or presented is None or presented.pk != key.pk:
            return "Password (554) must be this session's API key, active."
        return ""

    def fromApp(self, message, session_id):
        with_thread_connections(self._application_message, message, session_id)

    def _application_message(self, message, session_id) -> None:
        kind = t.msg_type(message)
        handler = HANDLERS.get(kind)
        if handler is None:
            raise quickfix.UnsupportedMessageType()
        try:
            close_old_connections()
            key = self.sessions.key_of(session_id)
            if key is None:
                raise LookupError("no API key for this session")
            handler(self, message, session_id, key)
        except Exception:
            logger.exception("FIX %s on %s failed", kind, session_id.toString())
            try:
                self._business_reject(message, session_id, "The message could not be processed.")
            except Exception:
                logger.exception("FIX reject on %s failed", session_id.toString())

    def _guarded(self, callback: Callable, session_id) -> None:
        try:
            close_old_connections()
            callback(session_id)
        except Exception:
            logger.exception("FIX session callback failed on %s", session_id.toString())

    # --- application messages --------------------------------------------------------------

    def new_order(self, message, session_id, key: ApiKey) -> None:
        data = t.new_order_data(message)
        try:
            order_new_request(api_key=key, data=data, ip=None, via=VIA_FIX)
        except (RequestInvalid, RequestReadOnly) as refusal:
            self._send(self._rejected(data, session_id, refusal_text(refusal)), session_id)
        # Placed (or the same request again): its reports come from the event stream.

    def cancel(self, message, session_id, key: ApiKey) -> None:
        data = t.cancel_data(message)
        if "exchange_id" not in data and data.get("client_order_id"):
            found = order_named(user=key.user, client_order_id=data["client_order_id"])
            exchange_id = found.values_list("account__exchange_id", flat=True).first()
            if exchange_id:
                data["exchange_id"] = exchange_id
        try:
            order_cancel_request(api_key=key, data=data, ip=None)
        except OrderUnknown as unknown:
            self._cancel_reject(message, session_id, reason="1", text=str(unknown))
        except (RequestInvalid, RequestReadOnly) as refusal:
            self._cancel_reject(message, session_id, reason="99", text=refusal_text(refusal))

    def _cancel_reject(self, message, session_id, *, reason: str, text: str) -> None:
        begin = session_id.getBeginString().getValue()
        status = "8" if reason == "1" else "0"
        reply = t.cancel_reject(
            message, begin_string=begin, order_status=status, reason=reason, text=text
        )
        self._send(reply, session_id)

    def mass_cancel(self, message, session_id, key: ApiKey) -> None:
        request_type = t.field(message, t.MASS_CANCEL_REQUEST_TYPE)
        exchange_id = t.field(message, t.SECURITY_EXCHANGE)
        if request_type != "7" or not exchange_id:
            text = "Only MassCancelRequestType 7 (all orders) of one SecurityExchange (207)."
            self._mass_cancel_report(message, session_id, affected=None, text=text)
            return
        try:
            _, count = orders_cancel_all_request(
                api_key=key, data={"exchange_id": exchange_id}, ip=None
            )
        except (RequestInvalid, RequestReadOnly) as refusal:
            self._mass_cancel_report(message, session_id, affected=None, text=refusal_text(refusal))
            return
        self._mass_cancel_report(message, session_id, affected=count)

    def _mass_cancel_report(self, message, session_id, *, affected: int | None, text: str = ""):
        begin = session_id.getBeginString().getValue()
        reply = t.mass_cancel_report(message, begin_string=begin, affected=affected, text=text)
        self._send(reply, session_id)

    def status(self, message, session_id, key: ApiKey) -> None:
        """An OrderStatusRequest (35=H): the order's report as it is now, ExecType I."""
        begin = session_id.getBeginString().getValue()
        client_order_id = t.field(message, t.CL_ORD_ID) or ""
        found = report_data(order_named(user=key.user, client_order_id=client_order_id).order_by())
        exec_id = own_exec_id()
        if not found:
            text = f"Order with ID: {client_order_id} not found"
            reply = t.rejected_order(
                {"client_order_id": client_order_id}, begin_string=begin, exec_id=exec_id, text=text
            )
            reply.setField(quickfix.StringField(t.EXEC_TYPE, t.EXEC_STATUS))
        else:
            reply = t.execution_report(
                order_report(found[0]), begin_string=begin, exec_id=exec_id, exec_type=t.EXEC_STATUS
            )
        self._send(reply, session_id)

    # --- replies ---------------------------------------------------------------------------

    def _rejected(self, data: dict, session_id, text: str) -> quickfix.Message:
        begin = session_id.getBeginString().getValue()
        return t.rejected_order(data, begin_string=begin, exec_id=own_exec_id(), text=text)

    def _business_reject(self, message, session_id, text: str) -> None:
        reply = t.new_message(session_id.getBeginString().getValue(), "j")
        header = message.getHeader()
        t.put(reply, t.REF_SEQ_NUM, header.getField(34) if header.isSetField(34) else None)
        t.put(reply, 372, t.msg_type(message))  # RefMsgType
        t.put(reply, 380, "0")  # BusinessRejectReason: other
        t.put(reply, t.TEXT, text)
        self._send(reply, session_id)

    def _send(self, message: quickfix.Message, session_id) -> None:
        quickfix.Session.sendToTarget(message, session_id)


HANDLERS = {
    "D": GatewayApplication.new_order,
    "F": GatewayApplication.cancel,
    "q": GatewayApplication.mass_cancel,
    "H": GatewayApplication.status,
}
