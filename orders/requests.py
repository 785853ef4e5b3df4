"""A script's order requests (a new order, one cancel, cancel all), read and checked once for
every door that takes them: REST's /v1/orders endpoints and the /v1/ws stream.

Each function validates the body with the contract's schema (so both doors name a bad field the
same way), refuses a read-only key, finds the account or order among those the key may trade,
and calls the order service, which checks the order, writes it and audits it. A door only turns
the outcome into its own answer: a REST status code, or a MESSAGE_REJECT on the socket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError, field_validator

from accounts.models import ApiKey, ExchangeAccount
from accounts.selectors import account_tradable
from emsweb.api import wire
from emsweb.api.errors import field_errors
from emsweb.api.schemas import LenientSchema
from venues.base import ExecInst, OrdSide, TimeInForce

from .instruments import instrument_find
from .models import Order
from .selectors import order_get_for_user
from .services import (
    OrderInvalid,
    OrderNotCancelable,
    OrderTicket,
    order_cancel,
    order_submit,
    orders_cancel_all,
)

VIA_REST = "rest"
VIA_WS = "ws"  # a live connection: where CANCEL_ON_DISCONNECT means something
VIA_FIX = "fix"  # a FIX session, live as well
LIVE_DOORS = frozenset({VIA_WS, VIA_FIX})
TIME_IN_FORCE_ALIASES = {"GOOD_TILL_TIME_OEML": TimeInForce.GOOD_TILL_TIME_OMS}
READ_ONLY = "This API key is read-only: it cannot trade."
Schema = TypeVar("Schema", bound=BaseModel)


class OrderNewSingleRequest(LenientSchema):
    exchange_id: str
    client_order_id: str
    symbol_id_exchange: str | None = None
    symbol_id_coinapi: str | None = None
    amount_order: Decimal
    price: Decimal
    side: Literal[tuple(OrdSide.values)]
    order_type: Literal["LIMIT"]
    time_in_force: Literal[(*TimeInForce.values, *TIME_IN_FORCE_ALIASES)]
    expire_time: str | None = None
    exec_inst: list[Literal[tuple(ExecInst.values)]] | None = None

    @field_validator("exec_inst", mode="before")
    @classmethod
    def one_or_many(cls, value):
        return [value] if isinstance(value, str) else value


class OrderCancelSingleRequest(LenientSchema):
    exchange_id: str
    exchange_order_id: str | None = None
    client_order_id: str | None = None


class OrderCancelAllRequest(LenientSchema):
    exchange_id: str


class RequestInvalid(Exception):
    """Field name -> messages. Nothing was written."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class RequestReadOnly(Exception):
    """A read-only key asked to trade. Nothing was written."""

    def __init__(self):
        super().__init__(READ_ONLY)


class OrderUnknown(Exception):
    """The order a cancel names is not one the key may see and trade."""

    def __init__(self, *, wanted: str, exchange_id: str, request: dict):
        super().__init__(f"Order with ID: {wanted} not found")
        self.exchange_id = exchange_id
        self.request = request  # the request as read, without its empty fields


def request_parse(schema: type[Schema], data: Mapping[str, Any] | Schema) -> Schema:
    """`data` read with `schema` (a body REST has parsed already is taken as it is)."""
    if isinstance(data, schema):
        return data
    try:
        return schema.model_validate(data)
    except ValidationError as invalid:
        raise RequestInvalid(field_errors(invalid.errors())) from None


def request_hash(payload: OrderNewSingleRequest) -> str:
    """The request's fingerprint: the same body again, through either door, is a safe retry."""
    return hashlib.sha256(wire.dumps(payload.model_dump(mode="python")).encode()).hexdigest()


def order_new_request(
    *,
    api_key: ApiKey,
    data: Mapping[str, Any] | OrderNewSingleRequest,
    ip: str | None,
    via: str,
) -> Order:
    """Place the order a script asks for (the order is RECEIVED and queued for routing), or the
    existing one when the same request comes again. RequestInvalid / RequestReadOnly otherwise.
    On a live connection (`via` VIA_WS or VIA_FIX), CANCEL_ON_DISCONNECT ties the order to the
    key."""
    payload = request_parse(OrderNewSingleRequest, data)
    _refuse_read_only(api_key)
    account = _tradable_account(api_key, payload.exchange_id)
    symbol_field = "symbol_id_coinapi" if payload.symbol_id_coinapi else "symbol_id_exchange"
    errors = {}
    if account is None:
        errors["exchange_id"] = [f"No account {payload.exchange_id!r} that this key may trade."]
    errors.update(_symbol_errors(payload, account))
    expire_time = None
    if payload.expire_time:
        try:
            expire_time = wire.parse_time(payload.expire_time)
        except ValueError as problem:
            errors["expire_time"] = [str(problem)]
    if errors:
        raise RequestInvalid(errors)
    ticket = OrderTicket(
        client_order_id=payload.client_order_id,
        symbol=payload.symbol_id_coinapi or payload.symbol_id_exchange,
        side=payload.side,
        amount=payload.amount_order,
        price=payload.price,
        time_in_force=TIME_IN_FORCE_ALIASES.get(payload.time_in_force, payload.time_in_force),
        expire_time=expire_time,
        exec_inst=tuple(payload.exec_inst or ()),
        order_type=payload.order_type,
    )
    try:
        return order_submit(
            account=account,
            ticket=ticket,
            user=api_key.user,
            api_key=api_key,
            ip=ip,
            request_hash=request_hash(payload),
            connection_key=api_key if via in LIVE_DOORS else None,
        )
    except OrderInvalid as invalid:
        errors = dict(invalid.errors)
        # The service names the instrument symbol_id_exchange; the request may have named it
        # by the other field.
        if "symbol_id_exchange" in errors and symbol_field != "symbol_id_exchange":
            errors[symbol_field] = errors.pop("symbol_id_exchange")
        raise RequestInvalid(errors) from None


def _symbol_errors(
    payload: OrderNewSingleRequest, account: ExchangeAccount | None
) -> dict[str, list[str]]:
    if not (payload.symbol_id_coinapi or payload.symbol_id_exchange):
        return {
            "symbol_id_exchange": ["One of symbol_id_exchange or symbol_id_coinapi is required."]
        }
    if account and payload.symbol_id_exchange and payload.symbol_id_coinapi:
        named = {
            instrument_find(venue=account.venue, symbol=symbol)
            for symbol in (payload.symbol_id_exchange, payload.symbol_id_coinapi)
        }
        if len(named) > 1:
            return {"symbol_id_exchange": ["Names another instrument than symbol_id_coinapi."]}
    return {}


def order_cancel_request(
    *, api_key: ApiKey, data: Mapping[str, Any] | OrderCancelSingleRequest, ip: str | None
) -> Order:
    """Ask for the order a script names to be canceled; the order as it is then.
    RequestInvalid / RequestReadOnly / OrderUnknown otherwise."""
    payload = request_parse(OrderCancelSingleRequest, data)
    _refuse_read_only(api_key)
    if not (payload.client_order_id or payload.exchange_order_id):
        raise RequestInvalid(
            {"client_order_id": ["One of client_order_id or exchange_order_id is required."]}
        )
    named = (
        {"client_order_id": payload.client_order_id}
        if payload.client_order_id
        else {"exchange_order_id": payload.exchange_order_id}
    )
    access = order_get_for_user(
        user=api_key.user, api_key=api_key, exchange_id=payload.exchange_id, **named
    )
    if access is None or not access.may_trade:
        raise OrderUnknown(
            wanted=payload.client_order_id or payload.exchange_order_id,
            exchange_id=payload.exchange_id,
            request=payload.model_dump(exclude_none=True),
        )
    try:
        return order_cancel(order=access.order, user=api_key.user, api_key=api_key, ip=ip)
    except OrderNotCancelable as refusal:
        raise RequestInvalid({"client_order_id": [str(refusal)]}) from None


def orders_cancel_all_request(
    *, api_key: ApiKey, data: Mapping[str, Any] | OrderCancelAllRequest, ip: str | None
) -> tuple[ExchangeAccount, int]:
    """Cancel every open order of the account a script names: the account, and how many orders
    were asked to cancel. RequestInvalid / RequestReadOnly otherwise."""
    payload = request_parse(OrderCancelAllRequest, data)
    _refuse_read_only(api_key)
    account = _tradable_account(api_key, payload.exchange_id)
    if account is None:
        raise RequestInvalid(
            {"exchange_id": [f"No account {payload.exchange_id!r} that this key may trade."]}
        )
    count = orders_cancel_all(account=account, user=api_key.user, api_key=api_key, ip=ip)
    return account, count


def _refuse_read_only(api_key: ApiKey) -> None:
    if api_key.read_only:
        raise RequestReadOnly()


def _tradable_account(api_key: ApiKey, exchange_id: str) -> ExchangeAccount | None:
    return account_tradable(user=api_key.user, api_key=api_key, exchange_id=exchange_id)
