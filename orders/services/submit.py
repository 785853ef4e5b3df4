"""Submit: a ticket checked against the instrument, the desk's balance and its risk limits,
recorded as a RECEIVED order with its audit entry, and queued for routing once committed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ApiKey, AuditAction, ExchangeAccount
from positions.selectors import position_held
from risk.check import Attempt, RiskRefused, risk_check, risk_count, risk_refusal_record
from venues.base import ExecInst, OrdSide, OrdStatus, TimeInForce
from venues.registry import venue_info

from ..changes import changes_bump
from ..funds import balance_available
from ..instruments import contract_value, instrument_find
from ..models import EventCause, Instrument, Order
from ..money import NotADecimal, parse_decimal, plain, round_amount, round_price
from ..selectors import JSONListHas, order_with_client_order_id
from ..statuses import WORKING_STATUSES
from ..tasks import delay_after_commit, route_order
from ..writes import order_insert

S = OrdStatus
SUPPORTED_EXEC_INST = frozenset({ExecInst.MAKER_OR_CANCEL, ExecInst.DO_NOT_INCREASE})
# emsweb's own, not the venue's: it cancels the order when the connection it was placed on is
# gone (orders/services/disconnect.py), so it needs one, and only /v1/ws has connections.
ON_CONNECTION_EXEC_INST = frozenset({ExecInst.CANCEL_ON_DISCONNECT})
EXPIRING = frozenset({TimeInForce.GOOD_TILL_TIME_EXCHANGE, TimeInForce.GOOD_TILL_TIME_OMS})
IMMEDIATE = frozenset({TimeInForce.IMMEDIATE_OR_CANCEL, TimeInForce.FILL_OR_KILL})


class OrderInvalid(Exception):
    """Field name -> messages. Nothing was written."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class OrderTicket:
    """What a trader (or a script) asks for, before validation."""

    client_order_id: str
    symbol: str
    side: str
    amount: object
    price: object
    time_in_force: str = TimeInForce.GOOD_TILL_CANCEL
    expire_time: datetime | None = None
    exec_inst: tuple[str, ...] = field(default_factory=tuple)
    order_type: str = "LIMIT"


@dataclass(frozen=True)
class CheckedTicket:
    instrument: Instrument
    amount: Decimal
    price: Decimal
    notes: tuple[str, ...]


def order_submit(
    *,
    account: ExchangeAccount,
    ticket: OrderTicket,
    user: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
    request_hash: str = "",
    connection_key: ApiKey | None = None,
) -> Order:
    """Validate, record the order as RECEIVED, and queue it for routing once committed.

    A client_order_id that exists is never a second order: the same request again (same
    `request_hash`) gets the existing order back; anything else is refused. `connection_key`:
    the key of the live connection (/v1/ws) the ticket came on, which CANCEL_ON_DISCONNECT ties
    the order to; without one, CANCEL_ON_DISCONNECT is refused.
    """
    existing = order_with_client_order_id(ticket.client_order_id)
    if existing is not None:
        return _same_request_or_refuse(existing, request_hash)
    checked = ticket_check(account=account, ticket=ticket, on_connection=connection_key is not None)
    attempt = Attempt(
        account,
        user,
        checked.instrument,
        ticket.side,
        checked.amount,
        checked.price,
        reduce_only=ExecInst.DO_NOT_INCREASE in ticket.exec_inst,
    )
    cancel_on_disconnect_key = (
        connection_key if ExecInst.CANCEL_ON_DISCONNECT in ticket.exec_inst else None
    )
    try:
        order = _accepted(
            attempt,
            ticket,
            checked,
            api_key=api_key,
            ip=ip,
            request_hash=request_hash,
            cancel_on_disconnect_key=cancel_on_disconnect_key,
        )
    except RiskRefused as refused:
        # A twin request with this client_order_id may have been written while this one waited
        # on the usage lock, and counted against the limit: the retry gets that order back.
        if existing := order_with_client_order_id(ticket.client_order_id):
            return _same_request_or_refuse(existing, request_hash)
        risk_refusal_record(
            refused, attempt=attempt, client_order_id=ticket.client_order_id, api_key=api_key, ip=ip
        )
        raise OrderInvalid(refused.errors) from None
    except IntegrityError:
        # Another request with this client_order_id won the race.
        existing = order_with_client_order_id(ticket.client_order_id)
        if existing is None:
            raise
        return _same_request_or_refuse(existing, request_hash)
    # The route task first: the worker can start on it while the blotters' counter moves.
    delay_after_commit(route_order, order.pk)
    changes_bump()
    return order


def _accepted(
    attempt: Attempt,
    ticket: OrderTicket,
    checked: CheckedTicket,
    *,
    api_key,
    ip,
    request_hash,
    cancel_on_disconnect_key,
) -> Order:
    """The order written as RECEIVED, once the risk limits accept it (else RiskRefused)."""
    passed = risk_check(attempt)
    order = Order(
        client_order_id=ticket.client_order_id,
        account=attempt.account,
        instrument=checked.instrument,
        side=ticket.side,
        time_in_force=ticket.time_in_force,
        expire_time=ticket.expire_time,
        exec_inst=list(dict.fromkeys(ticket.exec_inst)),
        amount_order=checked.amount,
        amount_open=checked.amount,
        price=checked.price,
        status=S.RECEIVED,
        created_by=attempt.user,
        created_with_key=api_key,
        request_hash=request_hash,
        cancel_on_disconnect_key=cancel_on_disconnect_key,
    )
    # The order, its RECEIVED row and its audit entry: all or nothing, so that an order never
    # exists that the audit log does not show; and with the usage its limits count, so that
    # the order and what it counted for commit together.
    with transaction.atomic():
        if accepted_at := risk_count(attempt, passed):
            order.created_at = order.updated_at = accepted_at
        audit_record(
            action=AuditAction.ORDER_PLACED,
            actor=attempt.user,
            api_key=api_key,
            ip=ip,
            target=order.client_order_id,
            account=attempt.account.exchange_id,
            side=order.side,
            amount=order.amount_order,
            price=order.price,
        )
        # Last, so that the stream's cursor it may take is held only until the COMMIT. A used
        # client_order_id rolls this transaction back: no savepoint needed to go on.
        order_insert(
            order,
            cause=EventCause.SUBMIT,
            note="; ".join(checked.notes),
            savepoint=False,
            commits_next=True,
        )
    return order


def _same_request_or_refuse(existing: Order, request_hash: str) -> Order:
    if request_hash and existing.request_hash == request_hash:
        return existing
    raise OrderInvalid(
        {"client_order_id": ["An order with this client_order_id exists with other details."]}
    )


def ticket_check(
    *, account: ExchangeAccount, ticket: OrderTicket, on_connection: bool = False
) -> CheckedTicket:
    """The ticket rounded to the instrument's rules and checked, or OrderInvalid naming fields.
    `on_connection`: it came on a live connection (/v1/ws), where CANCEL_ON_DISCONNECT is
    accepted."""
    errors: dict[str, list[str]] = {}

    def error(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not ticket.client_order_id or len(ticket.client_order_id) > 255:
        error("client_order_id", "Give a client_order_id of 1 to 255 characters.")
    if refusal := account.trading_refusal:
        error("exchange_id", refusal)
    if venue_info(account.venue).adapter is None:
        error("exchange_id", f"Trading on {account.venue} is not available in this build yet.")
    if ticket.order_type != "LIMIT":
        error("order_type", "Only LIMIT orders are supported.")
    if ticket.side not in OrdSide.values:
        error("side", "Side must be BUY or SELL.")
    _check_time_in_force(ticket, error, on_connection=on_connection)

    instrument = instrument_find(venue=account.venue, symbol=ticket.symbol or "")
    if instrument is None:
        error("symbol_id_exchange", f"Unknown instrument {ticket.symbol!r} at {account.venue}.")
    elif instrument.expiry is not None and instrument.expiry < timezone.now().date():
        error(
            "symbol_id_exchange",
            f"{instrument.symbol_id_coinapi} expired on {instrument.expiry}: it no longer trades.",
        )
    amount = _positive_decimal(ticket.amount, "amount_order", error)
    price = _positive_decimal(ticket.price, "price", error)
    if errors or instrument is None or amount is None or price is None:
        raise OrderInvalid(errors)

    notes = []
    rounded_price = round_price(price, tick=instrument.tick_size, side=ticket.side)
    rounded_amount = round_amount(amount, lot=instrument.lot_size)
    if rounded_price != price:
        notes.append(
            f"price {price} rounded to {rounded_price} (tick {plain(instrument.tick_size)})"
        )
    if rounded_amount != amount:
        notes.append(
            f"amount {amount} rounded to {rounded_amount} (lot {plain(instrument.lot_size)})"
        )
    if rounded_price <= 0:
        error("price", f"Price is below one tick ({plain(instrument.tick_size)}).")
    if rounded_amount <= 0 or rounded_amount < instrument.min_amount:
        error("amount_order", f"Amount is below the minimum {plain(instrument.min_amount)}.")
    elif rounded_amount * rounded_price < instrument.min_notional:
        error(
            "amount_order",
            f"Order value is below the minimum {plain(instrument.min_notional)} "
            f"{instrument.quote}.",
        )
    reduce_only = ExecInst.DO_NOT_INCREASE in ticket.exec_inst
    if reduce_only and not instrument.is_derivative:
        error("exec_inst", f"DO_NOT_INCREASE applies to derivatives; {instrument} is spot.")
    elif reduce_only and not errors:
        _check_reduce_only(account, instrument, ticket.side, rounded_amount, error)
    if not errors:
        _check_funds(account, instrument, ticket, rounded_amount, rounded_price, error)
    if errors:
        raise OrderInvalid(errors)
    return CheckedTicket(instrument, rounded_amount, rounded_price, tuple(notes))


def _check_time_in_force(ticket: OrderTicket, error, *, on_connection: bool) -> None:
    if ticket.time_in_force not in TimeInForce.values:
        error("time_in_force", f"Unknown time in force {ticket.time_in_force!r}.")
    if ticket.time_in_force in EXPIRING:
        if ticket.expire_time is None:
            error("expire_time", f"expire_time is required with {ticket.time_in_force}.")
        elif ticket.expire_time <= timezone.now():
            error("expire_time", "expire_time is in the past.")
    elif ticket.expire_time is not None:
        error("expire_time", f"expire_time applies only to {' or '.join(sorted(EXPIRING))}.")
    unknown = [value for value in ticket.exec_inst if value not in ExecInst.values]
    unsupported = [
        value
        for value in ticket.exec_inst
        if value in ExecInst.values
        and value not in SUPPORTED_EXEC_INST
        and value not in ON_CONNECTION_EXEC_INST
    ]
    if unknown:
        error("exec_inst", f"Unknown exec_inst {', '.join(unknown)}.")
    if unsupported:
        error("exec_inst", f"{', '.join(unsupported)} is not supported by this venue.")
    if not on_connection and ON_CONNECTION_EXEC_INST.intersection(ticket.exec_inst):
        error(
            "exec_inst",
            "CANCEL_ON_DISCONNECT needs a connection to tie the order to: place it over the "
            "WebSocket API (/v1/ws), not REST.",
        )
    if ExecInst.MAKER_OR_CANCEL in ticket.exec_inst and ticket.time_in_force in IMMEDIATE:
        error("exec_inst", "MAKER_OR_CANCEL cannot rest, so it cannot be combined with IOC or FOK.")


def _initial_margin(account, instrument, ticket, amount, price) -> Decimal:
    """What a derivative order needs free in the settlement asset: its value / leverage, none
    for a reduce-only order."""
    if ExecInst.DO_NOT_INCREASE in ticket.exec_inst:
        return Decimal(0)
    _, leverage = position_held(
        account_id=account.pk, symbol_id_exchange=instrument.symbol_id_exchange
    )
    return contract_value(instrument, amount, price) / leverage


def _positive_decimal(value: object, name: str, error) -> Decimal | None:
    try:
        number = parse_decimal(value)
    except NotADecimal as problem:
        error(name, f"{name} {problem}.")
        return None
    if number <= 0:
        error(name, f"{name} must be greater than zero.")
        return None
    return number


def _check_reduce_only(account, instrument, side, amount, error) -> None:
    """A reduce-only order must close part of the position the venue last reported, with the
    other reduce-only orders of its side still working: never grow it, never flip it."""
    size, _ = position_held(account_id=account.pk, symbol_id_exchange=instrument.symbol_id_exchange)
    if not size or (size > 0) == (side == OrdSide.BUY):
        held = "no position" if not size else f"a {'long' if size > 0 else 'short'} position"
        error(
            "exec_inst",
            f"DO_NOT_INCREASE: a {side} would increase the position ({account.exchange_id} holds "
            f"{held} in {instrument}).",
        )
        return
    working = Order.objects.filter(
        JSONListHas("exec_inst", ExecInst.DO_NOT_INCREASE),
        account=account,
        instrument=instrument,
        side=side,
        status__in=WORKING_STATUSES,
    ).values_list("amount_open", flat=True)
    pending = sum(working, Decimal(0))
    if amount + pending > abs(size):
        error(
            "amount_order",
            f"DO_NOT_INCREASE: {plain(amount)} would flip the position: {plain(abs(size))} held, "
            f"{plain(pending)} already in working reduce-only orders.",
        )


def _check_funds(account, instrument, ticket, amount, price, error) -> None:
    if instrument.is_derivative:
        asset, needed = (
            instrument.settlement_asset,
            _initial_margin(account, instrument, ticket, amount, price),
        )
    elif ticket.side == OrdSide.BUY:
        asset, needed = instrument.quote, amount * price
    else:
        asset, needed = instrument.base, amount
    available = balance_available(account=account, asset=asset)
    if available is None:
        error(
            "exchange_id",
            f"The balances of {account.exchange_id} are not known yet: no sync has read them "
            "since the account was linked. Try again in a few seconds.",
        )
    elif needed > available:
        error(
            "amount_order",
            f"Insufficient funds: needs {plain(needed)} {asset}, {plain(available)} available.",
        )
