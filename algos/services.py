"""Every write to a parent, whichever door asks: start, pause, resume, change, cancel, stop.

Each status change is a guarded update (from the statuses it may leave), with its history row
and its audit entry in the same transaction; what follows in the schedule is the step's
(algos.step). Changes take effect from the next slice: a child already working is left to its
venue, except on cancel and stop, which cancel the working children too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ApiKey, AuditAction, AuditEvent, ExchangeAccount
from orders.instruments import instrument_find
from orders.money import plain
from orders.services import OrderNotCancelable, order_cancel
from venues.base import OrdSide

from .models import (
    FINISHED,
    Algorithm,
    ChildStyle,
    EndPolicy,
    EventKind,
    ParentEvent,
    ParentOrder,
    ParentStatus,
)
from .notify import parent_changed
from .profile import volume_profile
from .routing import instrument_for
from .selectors import parent_progress, working_children
from .tasks import step_at

P = ParentStatus
DEFAULT_SLIPPAGE = Decimal("0.005")
CHANGEABLE = ("amount", "end_time", "limit_price", "participation", "display_amount")


class ParentInvalid(Exception):
    """Field name -> messages. Nothing was written."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class ParentNotChangeable(Exception):
    """The parent is not in a status that allows the change asked for."""


@dataclass(frozen=True)
class ParentTicket:
    """A parent as asked for, checked by parent_start."""

    algorithm: str
    side: str
    symbol: str
    amount: Decimal
    accounts: tuple[ExchangeAccount, ...]
    duration_seconds: int = 0
    interval_seconds: int = 0
    limit_price: Decimal | None = None
    slippage: Decimal = DEFAULT_SLIPPAGE
    jitter: Decimal = Decimal(0)
    child_style: str = ChildStyle.IOC
    end_policy: str = EndPolicy.LEAVE
    display_amount: Decimal | None = None
    participation: Decimal | None = None
    profile: tuple[Decimal, ...] = field(default_factory=tuple)


def latest_audit_id() -> int:
    return AuditEvent.objects.aggregate(last=Max("pk"))["last"] or 0


def parent_start(
    *,
    ticket: ParentTicket,
    user: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> ParentOrder:
    """Check the ticket and record the parent as Running, its first slice due now."""
    now = now or timezone.now()
    instrument = _ticket_check(ticket)
    profile = ticket.profile
    if ticket.algorithm == Algorithm.VWAP and not profile:
        profile = volume_profile(account=ticket.accounts[0], instrument=instrument)
    end = now + timedelta(seconds=ticket.duration_seconds or ticket.interval_seconds or 1)
    with transaction.atomic():
        parent = ParentOrder.objects.create(
            algorithm=ticket.algorithm,
            status=P.RUNNING,
            side=ticket.side,
            symbol=ticket.symbol,
            base=instrument.base,
            quote=instrument.quote,
            amount=ticket.amount,
            start_at=now,
            end_at=end,
            interval_seconds=ticket.interval_seconds or 1,
            limit_price=ticket.limit_price,
            slippage=ticket.slippage,
            jitter=ticket.jitter,
            child_style=ticket.child_style,
            end_policy=ticket.end_policy,
            display_amount=ticket.display_amount,
            participation=ticket.participation,
            profile=[str(volume) for volume in profile],
            next_due_at=now,
            audit_mark=latest_audit_id(),
            created_by=user,
            created_with_key=api_key,
            created_at=now,
        )
        parent.accounts.set(ticket.accounts)
        _event(parent, P.RUNNING, "Started", now)
        step_at(parent.pk, now)
        audit_record(
            action=AuditAction.ORDER_PLACED,
            actor=user,
            api_key=api_key,
            ip=ip,
            target=f"algo {parent.pk}",
            account=", ".join(a.exchange_id for a in ticket.accounts)[:200],
            side=parent.side,
            amount=parent.amount,
            price=parent.limit_price or "",
        )
    return parent


def _ticket_check(ticket: ParentTicket):
    errors: dict[str, list[str]] = {}

    def error(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if ticket.algorithm not in Algorithm.values:
        error("Algorithm", "Algorithm must be TWAP, VWAP or ICEBERG.")
    if ticket.side not in OrdSide.values:
        error("side", "side must be BUY or SELL.")
    if ticket.amount is None or ticket.amount <= 0:
        error("amount", "amount must be greater than zero.")
    if not ticket.accounts:
        error("Exchanges", "Name at least one account this key may trade.")
    if ticket.algorithm == Algorithm.ICEBERG:
        if ticket.limit_price is None:
            error("limit_price", "An iceberg rests at a price: give limit_price.")
        if ticket.display_amount is None or ticket.display_amount <= 0:
            error("display_amount", "An iceberg needs a display_amount greater than zero.")
    elif ticket.algorithm in Algorithm.values:
        if ticket.duration_seconds <= 0:
            error("duration", "Give a duration such as 10MIN.")
        if ticket.interval_seconds <= 0:
            error("interval", "Give an interval such as 30SEC.")
        elif ticket.duration_seconds and ticket.interval_seconds > ticket.duration_seconds:
            error("interval", "The interval is longer than the duration.")
    if ticket.limit_price is not None and ticket.limit_price <= 0:
        error("limit_price", "limit_price must be greater than zero.")
    if not Decimal(0) <= ticket.slippage < 1:
        error("slippage", "slippage is a fraction from 0 to 1 (0.005 is 0.5 %).")
    if not Decimal(0) <= ticket.jitter <= 1:
        error("jitter", "jitter is a fraction from 0 to 1.")
    if ticket.participation is not None and not Decimal(0) < ticket.participation <= 1:
        error("participation", "participation is a fraction above 0, at most 1.")
    if ticket.child_style not in ChildStyle.values:
        error("child_style", f"child_style is one of {', '.join(ChildStyle.values)}.")
    if ticket.end_policy not in EndPolicy.values:
        error("end_policy", f"end_policy is one of {', '.join(EndPolicy.values)}.")
    instrument = None
    for account in ticket.accounts:
        if refusal := account.trading_refusal:
            error("Exchanges", refusal)
        found = _instrument_named(account, ticket.symbol)
        if found is None:
            error("symbol", f"Unknown instrument {ticket.symbol!r} at {account.venue}.")
        elif instrument is not None and (found.base, found.quote) != (
            instrument.base,
            instrument.quote,
        ):
            error("Exchanges", "The accounts must trade the same base and quote.")
        instrument = instrument or found
    if errors or instrument is None:
        raise ParentInvalid(errors or {"symbol": ["Unknown instrument."]})
    return instrument


def _instrument_named(account: ExchangeAccount, symbol: str):
    """The account's market named `symbol` (its own or the coinapi name, or BASE/QUOTE)."""
    found = instrument_find(venue=account.venue, symbol=symbol)
    if found is None and "/" in symbol:
        base, quote = symbol.upper().split("/", 1)
        probe = ParentOrder(base=base, quote=quote)
        found = instrument_for(account, probe)
    return found


def parent_pause(
    *, parent: ParentOrder, reason: str = "", user=None, api_key=None, ip=None, now=None
) -> ParentOrder:
    """Running -> Paused: no slice goes out until resumed."""
    now = now or timezone.now()
    return _status_set(
        parent, P.PAUSED, {P.RUNNING}, reason or "Paused", user, api_key, ip, now, paused_at=now
    )


def parent_resume(*, parent: ParentOrder, user=None, api_key=None, ip=None, now=None):
    """Paused -> Running: the schedule goes on from the next slice, shifted by the time paused
    (its end too); what is not done is spread over the slices left."""
    now = now or timezone.now()
    parent.refresh_from_db()
    if parent.status != P.PAUSED:
        raise ParentNotChangeable(f"The parent is {parent.status}, not Paused.")
    shift = now - (parent.paused_at or now)
    start, end = parent.start_at + shift, parent.end_at + shift
    next_slot = start + timedelta(seconds=parent.next_slice * parent.interval_seconds)
    next_due = max(now, next_slot) if parent.algorithm != Algorithm.ICEBERG else now
    step_at(parent.pk, next_due)
    return _status_set(
        parent,
        P.RUNNING,
        {P.PAUSED},
        "Resumed",
        user,
        api_key,
        ip,
        now,
        start_at=start,
        end_at=end,
        next_due_at=next_due,
        plan_slice=parent.next_slice,
        plan_done=parent_progress(parent).done,
        audit_mark=latest_audit_id(),
        paused_at=None,
    )


def parent_cancel(*, parent: ParentOrder, user=None, api_key=None, ip=None, now=None):
    """Cancelled, with its working children; the parent then reports what was filled."""
    now = now or timezone.now()
    parent = _status_set(
        parent,
        P.CANCELLED,
        {P.RUNNING, P.PAUSED},
        "Cancelled",
        user,
        api_key,
        ip,
        now,
        finished_at=now,
    )
    _cancel_children(parent, user=user, api_key=api_key, ip=ip)
    return _with_fill_report(parent)


def parent_stop(*, parent: ParentOrder, reason: str, now=None) -> ParentOrder | None:
    """Stopped by the desk's controls (kill switch, halt, cancel-all): finished, no slice after,
    its working children canceled. None when it had finished already."""
    now = now or timezone.now()
    try:
        parent = _status_set(
            parent, P.STOPPED, {P.RUNNING, P.PAUSED}, reason, None, None, None, now, finished_at=now
        )
    except ParentNotChangeable:
        return None
    _cancel_children(parent, user=None, api_key=None, ip=None)
    return _with_fill_report(parent)


def parent_complete(*, parent: ParentOrder, now=None) -> ParentOrder | None:
    now = now or timezone.now()
    progress = parent_progress(parent)
    left = parent.amount - progress.filled
    note = f"Filled {plain(progress.filled)} of {plain(parent.amount)}"
    if left > 0:
        note += f"; {plain(left)} left unfilled"
    try:
        return _status_set(
            parent, P.COMPLETED, {P.RUNNING}, note, None, None, None, now, finished_at=now
        )
    except ParentNotChangeable:
        return None


def parent_update(
    *, parent: ParentOrder, changes: dict, user=None, api_key=None, ip=None, now=None
) -> ParentOrder:
    """ParamChange: amount, end_time, limit_price, participation, display_amount; from the next
    slice. ParentInvalid names a bad field; nothing is written then."""
    now = now or timezone.now()
    parent.refresh_from_db()
    if parent.is_finished:
        raise ParentNotChangeable(f"The parent is {parent.status}: nothing to change.")
    progress = parent_progress(parent)
    values, errors = _changes_checked(parent, changes, progress.done, now)
    if errors:
        raise ParentInvalid(errors)
    if not values:
        raise ParentInvalid({"Parameters": [f"Give one of {', '.join(CHANGEABLE)}."]})
    with transaction.atomic():
        updated = ParentOrder.objects.filter(pk=parent.pk, version=parent.version).update(
            **values,
            plan_slice=parent.next_slice,
            plan_done=progress.done,
            version=F("version") + 1,
        )
        if not updated:
            raise ParentNotChangeable("The parent changed meanwhile: read it and try again.")
        shown = {name: str(value) for name, value in values.items()}
        ParentEvent.objects.create(parent=parent, kind=EventKind.PARAMS, params=shown, at=now)
        audit_record(
            action=AuditAction.ORDER_PLACED,
            actor=user,
            api_key=api_key,
            ip=ip,
            target=f"algo {parent.pk} change",
            **shown,
        )
        parent_changed(parent.pk)
    parent.refresh_from_db()
    return parent


def _changes_checked(parent, changes: dict, done: Decimal, now: datetime):
    values, errors = {}, {}
    for name, value in changes.items():
        if name not in CHANGEABLE:
            errors[name] = [f"Cannot be changed; only {', '.join(CHANGEABLE)} can."]
        elif name == "end_time":
            if not isinstance(value, datetime) or value <= now:
                errors[name] = ["end_time must be a time in the future."]
            else:
                values["end_at"] = value
        elif value is None and name in ("limit_price", "participation"):
            values[name] = None
        elif not isinstance(value, Decimal) or value <= 0:
            errors[name] = [f"{name} must be a number greater than zero."]
        elif name == "amount" and value < done:
            errors[name] = [f"amount cannot be below what is filled or working ({plain(done)})."]
        elif name == "participation" and value > 1:
            errors[name] = ["participation is a fraction above 0, at most 1."]
        else:
            values[name] = value
    return values, errors


def _status_set(parent, to, allowed_from, note, user, api_key, ip, now, **fields) -> ParentOrder:
    with transaction.atomic():
        updated = ParentOrder.objects.filter(pk=parent.pk, status__in=allowed_from).update(
            status=to, status_info=note, version=F("version") + 1, **fields
        )
        if not updated:
            current = ParentOrder.objects.filter(pk=parent.pk).values_list("status", flat=True)
            raise ParentNotChangeable(
                f"The parent is {current.first() or 'gone'}: it cannot become {to}."
            )
        _event(parent, to, note, now)
        if user is not None or api_key is not None:
            audit_record(
                action=AuditAction.ORDER_CANCEL if to in FINISHED else AuditAction.TRADING_STATE,
                actor=user,
                api_key=api_key,
                ip=ip,
                target=f"algo {parent.pk} {to}",
            )
    parent.refresh_from_db()
    return parent


def _event(parent: ParentOrder, status: str, note: str, now: datetime) -> None:
    ParentEvent.objects.create(
        parent=parent, kind=EventKind.STATUS, status=status, note=note[:1000], at=now
    )
    parent_changed(parent.pk)


def _cancel_children(parent: ParentOrder, *, user, api_key, ip) -> None:
    for child in working_children(parent):
        try:
            order_cancel(order=child, user=user, api_key=api_key, ip=ip)
        except OrderNotCancelable:
            continue  # finished meanwhile


def _with_fill_report(parent: ParentOrder) -> ParentOrder:
    progress = parent_progress(parent)
    note = f"{parent.status_info}. Filled {plain(progress.filled)} of {plain(parent.amount)}"
    ParentOrder.objects.filter(pk=parent.pk).update(status_info=note[:2000])
    parent.status_info = note
    return parent
