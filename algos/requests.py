"""A script's SOR requests (start, change, pause, resume, cancel a parent), read and checked
once for both doors that take them: REST's /v1/sor endpoints and the /v1/ws stream's New,
ParamChange and Cancel messages. As orders.requests does for orders: the contract's shapes,
a bad field named, a read-only key refused, only accounts and parents the key may trade."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from accounts.models import ApiKey
from accounts.selectors import accounts_tradable
from emsweb.api import wire
from emsweb.api.schemas import LenientSchema
from orders.money import NotADecimal, parse_decimal
from orders.requests import RequestInvalid, RequestReadOnly, request_parse

from .durations import duration_seconds
from .models import Algorithm, ChildStyle, EndPolicy, ParentOrder
from .selectors import parent_tradable_by
from .services import (
    ParentInvalid,
    ParentNotChangeable,
    ParentTicket,
    parent_cancel,
    parent_pause,
    parent_resume,
    parent_start,
    parent_update,
)
from .tickets import DEFAULT_SLIPPAGE

DECIMAL_CHANGES = ("amount", "limit_price", "participation", "display_amount")


class SorParameters(LenientSchema):
    side: Literal["BUY", "SELL"]
    symbol: str
    symbol_type: str | None = None
    amount: Decimal
    duration: str | None = None
    interval: str | None = None
    limit_price: Decimal | None = None
    display_amount: Decimal | None = None
    participation: Decimal | None = None
    end_policy: Literal[tuple(EndPolicy.values)] | None = None
    child_style: Literal[tuple(ChildStyle.values)] | None = None
    slippage: Decimal | None = None
    jitter: Decimal | None = None


class SorAddRequest(LenientSchema):
    Algorithm: Literal[tuple(Algorithm.values)]
    Exchanges: list[str]
    Parameters: SorParameters


class SorUpdateRequest(LenientSchema):
    id: str | int
    Parameters: dict[str, Any]


class ParentUnknown(Exception):
    """No parent by that id that the key may trade."""

    def __init__(self, wanted: object):
        super().__init__(f"Request with ID: {wanted} not found")


def sor_add_request(
    *, api_key: ApiKey, data: Mapping[str, Any] | SorAddRequest, ip: str | None
) -> ParentOrder:
    payload = request_parse(SorAddRequest, data)
    _refuse_read_only(api_key)
    params = payload.Parameters
    errors: dict[str, list[str]] = {}
    tradable = {a.exchange_id: a for a in accounts_tradable(user=api_key.user, api_key=api_key)}
    unknown = [name for name in payload.Exchanges if name not in tradable]
    if unknown:
        errors["Exchanges"] = [f"No account {', '.join(unknown)} that this key may trade."]
    seconds = {}
    for name in ("duration", "interval"):
        value = getattr(params, name)
        if value is None:
            continue
        try:
            seconds[name] = duration_seconds(value)
        except ValueError as problem:
            errors[name] = [str(problem)]
    if errors:
        raise RequestInvalid(errors)
    ticket = ParentTicket(
        algorithm=payload.Algorithm,
        side=params.side,
        symbol=params.symbol,
        amount=params.amount,
        accounts=tuple(tradable[name] for name in dict.fromkeys(payload.Exchanges)),
        duration_seconds=seconds.get("duration", 0),
        interval_seconds=seconds.get("interval", 0),
        limit_price=params.limit_price,
        slippage=DEFAULT_SLIPPAGE if params.slippage is None else params.slippage,
        jitter=params.jitter or Decimal(0),
        child_style=params.child_style or ChildStyle.IOC,
        end_policy=params.end_policy or EndPolicy.LEAVE,
        display_amount=params.display_amount,
        participation=params.participation,
    )
    try:
        return parent_start(ticket=ticket, user=api_key.user, api_key=api_key, ip=ip)
    except ParentInvalid as invalid:
        raise RequestInvalid(invalid.errors) from None


def sor_update_request(
    *, api_key: ApiKey, data: Mapping[str, Any] | SorUpdateRequest, ip: str | None
) -> ParentOrder:
    payload = request_parse(SorUpdateRequest, data)
    _refuse_read_only(api_key)
    parent = parent_for_key(api_key, payload.id)
    changes, errors = {}, {}
    for name, value in payload.Parameters.items():
        if name in DECIMAL_CHANGES and value is not None:
            try:
                changes[name] = parse_decimal(value)
            except NotADecimal as problem:
                errors[name] = [f"{name} {problem}."]
        elif name == "end_time":
            try:
                changes[name] = wire.parse_time(str(value))
            except ValueError as problem:
                errors[name] = [str(problem)]
        else:
            changes[name] = value
    if errors:
        raise RequestInvalid(errors)
    try:
        return parent_update(
            parent=parent, changes=changes, user=api_key.user, api_key=api_key, ip=ip
        )
    except ParentInvalid as invalid:
        raise RequestInvalid(invalid.errors) from None
    except ParentNotChangeable as refusal:
        raise RequestInvalid({"id": [str(refusal)]}) from None


def sor_control_request(*, api_key: ApiKey, parent_id: object, action: str, ip: str | None):
    """Pause, resume or cancel the parent named: the parent as it is then."""
    _refuse_read_only(api_key)
    parent = parent_for_key(api_key, parent_id)
    control = {"pause": parent_pause, "resume": parent_resume, "cancel": parent_cancel}[action]
    try:
        return control(parent=parent, user=api_key.user, api_key=api_key, ip=ip)
    except ParentNotChangeable as refusal:
        raise RequestInvalid({"id": [str(refusal)]}) from None


def parent_for_key(api_key: ApiKey, parent_id: object) -> ParentOrder:
    """The parent by id if all its accounts are ones the key may trade; ParentUnknown if not."""
    try:
        pk = int(str(parent_id))
    except ValueError:
        raise ParentUnknown(parent_id) from None
    parent = ParentOrder.objects.filter(pk=pk).first()
    if parent is None or not parent_tradable_by(parent, user=api_key.user, api_key=api_key):
        raise ParentUnknown(parent_id)
    return parent


def _refuse_read_only(api_key: ApiKey) -> None:
    if api_key.read_only:
        raise RequestReadOnly()
