"""Every write path for orders: submit, route, cancel, cancel all, and the sweeper.

The web views, the API, the admin and the shell all call these. None of them calls a venue
inside a transaction: record the intent, call out, record the outcome. What a person or a script
asks for (submit, cancel, cancel all, kill switch) is written to the audit log here, once,
whichever door it came through: the door passes who asked (user, API key, address).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ApiKey, AuditAction, ExchangeAccount
from accounts.services import account_venue
from emsweb.logging import account_context, order_context
from emsweb.metrics import count_venue_error
from emsweb.redis import redis_client
from venues.base import ExecInst, OrderIntent, OrderRef, OrdSide, OrdStatus, TimeInForce
from venues.errors import OutcomeUnknown, Rejected, Unreachable, VenueError
from venues.registry import client_order_id_format, venue_info

from . import lifecycle
from .changes import changes_bump
from .instruments import instrument_find
from .models import EventCause, Instrument, Order, RejectReason
from .money import NotADecimal, parse_decimal, plain, round_amount, round_price
from .notify import routing_settled
from .selectors import balance_available
from .writes import order_insert

logger = logging.getLogger(__name__)

S = OrdStatus
SUPPORTED_EXEC_INST = frozenset({ExecInst.MAKER_OR_CANCEL})
EXPIRING = frozenset({TimeInForce.GOOD_TILL_TIME_EXCHANGE, TimeInForce.GOOD_TILL_TIME_OMS})
IMMEDIATE = frozenset({TimeInForce.IMMEDIATE_OR_CANCEL, TimeInForce.FILL_OR_KILL})
ROUTING_STATUSES = frozenset({S.ROUTING, S.ROUTED})
CANCELABLE = frozenset({S.NEW, S.PARTIALLY_FILLED})


class OrderInvalid(Exception):
    """Field name -> messages. Nothing was written."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class OrderNotCancelable(Exception):
    pass


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


# --- submit -----------------------------------------------------------------------------------


def order_submit(
    *,
    account: ExchangeAccount,
    ticket: OrderTicket,
    user: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
    request_hash: str = "",
) -> Order:
    """Validate, record the order as RECEIVED, and queue it for routing once committed.

    A client_order_id that exists is never a second order: the same request again (same
    `request_hash`) gets the existing order back; anything else is refused.
    """
    existing = Order.objects.filter(client_order_id=ticket.client_order_id).first()
    if existing is not None:
        return _same_request_or_refuse(existing, request_hash)
    checked = ticket_check(account=account, ticket=ticket)
    order = Order(
        client_order_id=ticket.client_order_id,
        account=account,
        instrument=checked.instrument,
        side=ticket.side,
        time_in_force=ticket.time_in_force,
        expire_time=ticket.expire_time,
        exec_inst=list(dict.fromkeys(ticket.exec_inst)),
        amount_order=checked.amount,
        amount_open=checked.amount,
        price=checked.price,
        status=S.RECEIVED,
        created_by=user,
        created_with_key=api_key,
        request_hash=request_hash,
    )
    try:
        # The order, its RECEIVED row and its audit entry: all or nothing, so that an order
        # never exists that the audit log does not show.
        with transaction.atomic():
            order_insert(order, cause=EventCause.SUBMIT, note="; ".join(checked.notes))
            audit_record(
                action=AuditAction.ORDER_PLACED,
                actor=user,
                api_key=api_key,
                ip=ip,
                target=order.client_order_id,
                account=account.exchange_id,
                side=order.side,
                amount=order.amount_order,
                price=order.price,
            )
    except IntegrityError:
        # Another request with this client_order_id won the race.
        existing = Order.objects.filter(client_order_id=ticket.client_order_id).first()
        if existing is None:
            raise
        return _same_request_or_refuse(existing, request_hash)
    changes_bump()

    from .tasks import route_order

    transaction.on_commit(lambda: route_order.delay(order.pk))
    return order


def _same_request_or_refuse(existing: Order, request_hash: str) -> Order:
    if request_hash and existing.request_hash == request_hash:
        return existing
    raise OrderInvalid(
        {"client_order_id": ["An order with this client_order_id exists with other details."]}
    )


def ticket_check(*, account: ExchangeAccount, ticket: OrderTicket) -> CheckedTicket:
    """The ticket rounded to the instrument's rules and checked, or OrderInvalid naming fields."""
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
    _check_time_in_force(ticket, error)

    instrument = instrument_find(venue=account.venue, symbol=ticket.symbol or "")
    if instrument is None:
        error("symbol_id_exchange", f"Unknown instrument {ticket.symbol!r} at {account.venue}.")
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
    if not errors:
        _check_funds(account, instrument, ticket.side, rounded_amount, rounded_price, error)
    if errors:
        raise OrderInvalid(errors)
    return CheckedTicket(instrument, rounded_amount, rounded_price, tuple(notes))


def _check_time_in_force(ticket: OrderTicket, error) -> None:
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
        if value in ExecInst.values and value not in SUPPORTED_EXEC_INST
    ]
    if unknown:
        error("exec_inst", f"Unknown exec_inst {', '.join(unknown)}.")
    if unsupported:
        error("exec_inst", f"{', '.join(unsupported)} is not supported by this venue.")
    if ExecInst.MAKER_OR_CANCEL in ticket.exec_inst and ticket.time_in_force in IMMEDIATE:
        error("exec_inst", "MAKER_OR_CANCEL cannot rest, so it cannot be combined with IOC or FOK.")


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


def _check_funds(account, instrument, side, amount, price, error) -> None:
    asset, needed = (
        (instrument.quote, amount * price) if side == OrdSide.BUY else (instrument.base, amount)
    )
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


# --- route ------------------------------------------------------------------------------------


def order_route(*, order_id: int) -> None:
    """Send a RECEIVED order to its venue once, and record what the venue said.

    Only the worker whose guarded RECEIVED -> ROUTING update succeeds sends. If the outcome is
    unknown the order stays ROUTING and is never re-sent: account_sync looks it up.
    """
    order = Order.objects.select_related("account", "instrument").get(pk=order_id)
    if order.status != S.RECEIVED or not _account_reconciled_for(order):
        return
    claimed = lifecycle.claim(
        order,
        to=S.ROUTING,
        cause=EventCause.ROUTE,
        allowed_from={S.RECEIVED},
        routing_started_at=timezone.now(),
        # Recorded before sending: where the venue needs its own format (Kraken's 18 characters,
        # Coinbase Exchange's UUID), its reports name the order by it.
        client_order_id_format_exchange=client_order_id_format(
            order.account.venue, order.client_order_id
        ),
    )
    if not claimed:
        return  # someone else has it, or it is already past routing
    try:
        _route_claimed(order)
    finally:
        routing_settled(order)


def _account_reconciled_for(order: Order) -> bool:
    """Whether the order's account may trade: reconciled with its venue lately, or now.

    When it is not (a worker just started, syncs have been failing), this worker reconciles it
    first. If that fails, the order stays RECEIVED and the sweeper queues it again; past
    EMSWEB_UNRECONCILED_REJECT_AFTER it is rejected with nothing sent, because a price chosen
    minutes ago is not one to send unasked.
    """
    if _reconcile_account(order.account_id):
        return True
    waited = (timezone.now() - order.created_at).total_seconds()
    if waited > settings.EMSWEB_UNRECONCILED_REJECT_AFTER:
        _reject(
            order.pk,
            f"Not sent: {order.account.venue} could not be reconciled with emsweb for "
            f"{round(waited)} s. Nothing reached the venue; safe to submit again.",
            RejectReason.LOCAL,
        )
    else:
        logger.warning(
            "order %s: account %s not reconciled yet; left RECEIVED for the sweeper",
            order.client_order_id,
            order.account.exchange_id,
            extra=order_context(order),
        )
    return False


def _reconcile_account(account_id: int) -> bool:
    """Reconciled already, or by a sync run now (or by another worker's, waited for)."""
    from .sync import account_reconciled, account_sync

    give_up = time.monotonic() + settings.EMSWEB_RECONCILE_WAIT
    while not account_reconciled(account_id=account_id):
        if account_sync(account_id=account_id):  # it ran, and succeeded or failed
            return account_reconciled(account_id=account_id)
        if time.monotonic() > give_up:
            return False
        time.sleep(0.1)  # another worker's sync of the account is running: wait for it
    return True


def _route_claimed(order: Order) -> None:
    order_id = order.pk
    try:
        venue = account_venue(account=order.account)
    except Exception as problem:  # noqa: BLE001 - nothing was sent: a definite local refusal
        logger.exception(
            "order %s: no venue adapter", order.client_order_id, extra=order_context(order)
        )
        _reject(order_id, f"Cannot reach {order.account.venue}: {problem}", RejectReason.LOCAL)
        return

    try:
        report = venue.submit(_intent(order))
    except Rejected as refusal:
        count_venue_error(order.account.venue, "submit", refusal)
        _reject(order_id, refusal.message, RejectReason.VENUE)
    except Unreachable as unreachable:
        count_venue_error(order.account.venue, "submit", unreachable)
        _reject(order_id, unreachable.message, RejectReason.EXCHANGE_UNREACHABLE)
    except OutcomeUnknown as unknown:
        count_venue_error(order.account.venue, "submit", unknown)
        _outcome_unknown(order, unknown.message)
    except Exception as problem:  # noqa: BLE001 - may have reached the venue: never assume not
        count_venue_error(order.account.venue, "submit", problem)
        logger.exception(
            "order %s: unexpected error while routing",
            order.client_order_id,
            extra=order_context(order),
        )
        _outcome_unknown(order, f"{type(problem).__name__}: {problem}")
    else:
        lifecycle.apply_report(order_id, report, cause=EventCause.ROUTE, order=order)
        _cancel_if_requested(order)  # as the report left it: no need to read it again


def _intent(order: Order) -> OrderIntent:
    # GOOD_TILL_TIME_OMS is ours to expire: the venue sees a plain GTC order.
    time_in_force = order.time_in_force
    if time_in_force == TimeInForce.GOOD_TILL_TIME_OMS:
        time_in_force = TimeInForce.GOOD_TILL_CANCEL
    return OrderIntent(
        client_order_id=order.client_order_id,
        symbol_id_exchange=order.instrument.symbol_id_exchange,
        side=order.side,
        amount=order.amount_order,
        price=order.price,
        time_in_force=time_in_force,
        expire_time=order.expire_time
        if time_in_force == TimeInForce.GOOD_TILL_TIME_EXCHANGE
        else None,
        post_only=order.post_only,
    )


def _reject(order_id: int, message: str, reason: str) -> None:
    lifecycle.transition(
        order_id,
        to=S.REJECTED,
        cause=EventCause.ROUTE,
        note=message,
        allowed_from={S.RECEIVED, S.ROUTING},
        error_message=message,
        reject_reason=reason,
    )


def _outcome_unknown(order: Order, message: str) -> None:
    logger.warning(
        "order %s: outcome unknown (%s); left ROUTING for reconciliation",
        order.client_order_id,
        message,
        extra=order_context(order),
    )
    Order.objects.filter(pk=order.pk, status=S.ROUTING).update(
        outcome_unknown_at=timezone.now(), error_message=f"Outcome unknown: {message}"
    )


# --- cancel -----------------------------------------------------------------------------------


def order_cancel(
    *,
    order: Order,
    user: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
) -> Order:
    """Ask for an order to be canceled. The venue's answer arrives through the worker."""
    _cancel(order, user=user)
    if api_key is not None:
        Order.objects.filter(pk=order.pk).update(canceled_with_key=api_key)
    audit_record(
        action=AuditAction.ORDER_CANCEL,
        actor=user,
        api_key=api_key,
        ip=ip,
        target=order.client_order_id,
    )
    return Order.objects.get(pk=order.pk)


def _cancel(order: Order, *, user: AbstractBaseUser | None) -> None:
    """order_cancel without its audit entry: cancel all records one entry for all its orders."""
    if order.status == S.RECEIVED and lifecycle.transition(
        order.pk,
        to=S.REJECTED,
        cause=EventCause.CANCEL,
        note="Canceled before it was routed.",
        allowed_from={S.RECEIVED},
        error_message="Canceled before it was routed.",
        reject_reason=RejectReason.LOCAL,
        canceled_by=user,
    ):
        return
    if order.status in ROUTING_STATUSES:
        # The venue has not confirmed it yet: cancel as soon as it does.
        Order.objects.filter(pk=order.pk, cancel_requested_at__isnull=True).update(
            cancel_requested_at=timezone.now(), canceled_by=user
        )
        order_cancel_if_requested(order_id=order.pk)
        return
    if order.status not in CANCELABLE:
        raise OrderNotCancelable(f"Order {order.client_order_id} is {order.status}.")
    order_request_cancel(order.pk, user=user, cause=EventCause.CANCEL)


def order_cancel_if_requested(*, order_id: int) -> None:
    _cancel_if_requested(Order.objects.get(pk=order_id))


def _cancel_if_requested(order: Order) -> None:
    if order.cancel_requested_at and order.status in CANCELABLE:
        order_request_cancel(order.pk, user=order.canceled_by, cause=EventCause.CANCEL)


def order_request_cancel(order_id: int, *, user, cause: str, note: str = "") -> bool:
    from .tasks import cancel_order

    with transaction.atomic():
        moved = lifecycle.transition(
            order_id,
            to=S.PENDING_CANCEL,
            cause=cause,
            note=note,
            allowed_from=CANCELABLE,
            canceled_by=user,
        )
        if moved:
            transaction.on_commit(lambda: cancel_order.delay(order_id))
    return moved


def order_cancel_send(*, order_id: int) -> None:
    """Send a PENDING_CANCEL order's cancel to the venue and apply the answer."""
    order = Order.objects.select_related("account", "instrument").get(pk=order_id)
    if order.status != S.PENDING_CANCEL:
        return
    venue = account_venue(account=order.account)
    ref = OrderRef(
        symbol_id_exchange=order.instrument.symbol_id_exchange,
        client_order_id=order.client_order_id,
        exchange_order_id=order.exchange_order_id,
    )
    try:
        report = venue.cancel(ref)
    except Rejected as refusal:
        count_venue_error(order.account.venue, "cancel", refusal)
        # Often "unknown order": it may have just filled. Ask the venue what it is now.
        _resolve_after_refused_cancel(order, venue, refusal.message)
    except VenueError as problem:
        count_venue_error(order.account.venue, "cancel", problem)
        logger.warning(
            "order %s: cancel outcome unknown (%s)",
            order.client_order_id,
            problem,
            extra=order_context(order),
        )
    else:
        lifecycle.apply_report(order_id, report, cause=EventCause.CANCEL)


def _resolve_after_refused_cancel(order: Order, venue, message: str) -> None:
    try:
        found = venue.lookup(order.client_order_id, order.instrument.symbol_id_exchange)
    except VenueError:
        return  # the next sync settles it
    if found is not None and found.status in (S.FILLED, S.CANCELED):
        lifecycle.apply_report(order.pk, found, cause=EventCause.CANCEL, note=message)
    elif found is not None:
        lifecycle.apply_report(order.pk, found, cause=EventCause.CANCEL)
        lifecycle.cancel_refused(order.pk, note=f"Cancel refused by the venue: {message}")


def orders_cancel_all(
    *,
    account: ExchangeAccount,
    user: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
) -> int:
    """Cancel every open order of one account. Returns how many were asked to cancel."""
    return _cancel_all_recorded(AuditAction.CANCEL_ALL, [account], user, api_key, ip)


def orders_kill_switch(
    *,
    accounts: list[ExchangeAccount],
    user: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
) -> int:
    """Cancel every open order of every account given (the ones the user may trade). Returns
    how many were asked to cancel."""
    return _cancel_all_recorded(AuditAction.KILL_SWITCH, accounts, user, api_key, ip)


def _cancel_all_recorded(action, accounts, user, api_key, ip) -> int:
    """Cancel all on each account, recorded as one entry: not one per account or per order."""
    count = sum(_cancel_all(account, user=user) for account in accounts)
    audit_record(
        action=action,
        actor=user,
        api_key=api_key,
        ip=ip,
        target=", ".join(account.exchange_id for account in accounts)[:255],
        orders=count,
    )
    return count


def _cancel_all(account: ExchangeAccount, *, user: AbstractBaseUser | None) -> int:
    from .tasks import cancel_all_orders

    count = 0
    for order in Order.objects.filter(
        account=account, status__in={S.RECEIVED, *ROUTING_STATUSES, *CANCELABLE}
    ):
        if order.status in CANCELABLE:
            with transaction.atomic():
                count += lifecycle.transition(
                    order.pk,
                    to=S.PENDING_CANCEL,
                    cause=EventCause.CANCEL,
                    note="Cancel all",
                    allowed_from=CANCELABLE,
                    canceled_by=user,
                )
        else:
            _cancel(order, user=user)
            count += 1
    transaction.on_commit(lambda: cancel_all_orders.delay(account.pk))
    return count


def orders_cancel_all_send(*, account_id: int) -> None:
    """One cancel-all call at the venue, then the answer for each order applied."""
    account = ExchangeAccount.objects.get(pk=account_id)
    venue = account_venue(account=account)
    try:
        reports = venue.cancel_all()
    except VenueError as problem:
        count_venue_error(account.venue, "cancel_all", problem)
        logger.warning(
            "account %s: cancel all failed (%s)",
            account.exchange_id,
            problem,
            extra=account_context(account),
        )
        for order_id in Order.objects.filter(account=account, status=S.PENDING_CANCEL).values_list(
            "pk", flat=True
        ):
            from .tasks import cancel_order

            cancel_order.delay(order_id)
        return
    for report in reports:
        order = order_for_venue_report(account, report)
        if order is not None:
            lifecycle.apply_report(order.pk, report, cause=EventCause.CANCEL)


def order_for_venue_report(account: ExchangeAccount, report) -> Order | None:
    orders = Order.objects.filter(account=account)
    if report.client_order_id:
        # The venue names an order by the client order id it was sent, which is ours or, where
        # ours did not fit its format, the one recorded in client_order_id_format_exchange.
        found = (
            orders.filter(client_order_id=report.client_order_id).first()
            or orders.filter(client_order_id_format_exchange=report.client_order_id).first()
        )
        if found is not None:
            return found
    if not report.exchange_order_id:
        return None
    return orders.filter(exchange_order_id=report.exchange_order_id).first()


# --- sweeper ----------------------------------------------------------------------------------


def orders_sweep_received() -> int:
    """Queue routing again for RECEIVED orders whose task was lost (a broker restart, say).

    Harmless when the task was not lost: only one worker can claim the order. But an order is
    queued again at most once per EMSWEB_SWEEP_RECEIVED_AFTER: behind a backlog longer than that,
    re-queueing every order on every sweep would grow the backlog faster than workers drain it.
    The marks live in Redis, so a flushed or restarted broker, which lost the tasks, loses them
    too and the orders are queued again at once.
    """
    from .tasks import route_order

    window = settings.EMSWEB_SWEEP_RECEIVED_AFTER
    stale = timezone.now() - timedelta(seconds=window)
    orders = list(
        Order.objects.filter(status=S.RECEIVED, created_at__lt=stale).values_list(
            "pk", "created_at"
        )
    )
    with redis_client().pipeline(transaction=False) as pipe:
        for order_id, created_at in orders:
            key = f"emsweb:swept:{order_id}:{created_at.timestamp()}"
            pipe.set(key, 1, nx=True, px=max(int(window * 1000), 1))
        first_in_window = pipe.execute()
    marked = zip(orders, first_in_window, strict=True)
    requeued = [order_id for (order_id, _), first in marked if first]
    for order_id in requeued:
        route_order.delay(order_id)
    if requeued:
        logger.warning("re-queued %s RECEIVED orders whose routing task was lost", len(requeued))
    return len(requeued)
