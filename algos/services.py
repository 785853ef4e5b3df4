"""Every write to a parent, whichever door asks: start, pause, resume, change, cancel, stop.

Each status change is a guarded update (from the statuses it may leave), with its history row
and its audit entry in the same transaction; what follows in the schedule is the step's
(algos.step). Changes take effect from the next slice: a child already working is left to its
venue, except on cancel and stop, which cancel the working children too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ApiKey, AuditAction
from orders.money import plain
from orders.services import OrderNotCancelable, order_cancel
from risk.stops import stop_mark, stop_since

from .models import (
    Algorithm,
    EventKind,
    ParentEvent,
    ParentOrder,
    ParentStatus,
)
from .notify import parent_changed
from .profile import volume_profile
from .selectors import parent_progress, parents_hit_by_stops, working_children
from .tasks import step_at
from .tickets import (
    ParentInvalid,
    ParentNotChangeable,
    ParentTicket,
    ticket_check,
)

P = ParentStatus
CHANGEABLE = ("amount", "end_time", "limit_price", "participation", "display_amount")


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
    instrument = ticket_check(ticket)
    profile = ticket.profile
    if ticket.algorithm == Algorithm.VWAP and not profile:
        profile = volume_profile(account=ticket.accounts[0], instrument=instrument)
    end = now + timedelta(seconds=ticket.duration_seconds or ticket.interval_seconds or 1)
    account_ids = [account.pk for account in ticket.accounts]
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
            stop_mark=stop_mark(account_ids=account_ids),
            created_by=user,
            created_with_key=api_key,
            created_at=now,
        )
        parent.accounts.set(ticket.accounts)
        _event(parent, P.RUNNING, "Started", now)
        step_at(parent.pk, now)
        audit_record(
            action=AuditAction.ALGO_START,
            actor=user,
            api_key=api_key,
            ip=ip,
            target=f"algo {parent.pk}",
            algorithm=parent.algorithm,
            account=", ".join(a.exchange_id for a in ticket.accounts)[:200],
            side=parent.side,
            amount=parent.amount,
            price=parent.limit_price or "",
        )
    return parent


def parent_pause(
    *, parent: ParentOrder, reason: str = "", user=None, api_key=None, ip=None, now=None
) -> ParentOrder:
    """Running -> Paused: no slice goes out until resumed."""
    now = now or timezone.now()
    by = Actor(AuditAction.ALGO_PAUSE, user, api_key, ip)
    return _status_set(parent, P.PAUSED, {P.RUNNING}, reason or "Paused", by, now, paused_at=now)


def parent_resume(*, parent: ParentOrder, user=None, api_key=None, ip=None, now=None):
    """Paused -> Running: the schedule goes on from the next slice, shifted by the time paused
    (its end too); what is not done is spread over the slices left. A parent the desk's
    controls hit while it was paused is stopped instead."""
    now = now or timezone.now()
    parent.refresh_from_db()
    if parent.status != P.PAUSED:
        raise ParentNotChangeable(f"The parent is {parent.status}, not Paused.")
    if reason := parent_stop_reason(parent):
        parent_stop(parent=parent, reason=reason, now=now)
        raise ParentNotChangeable(f"The parent is stopped: {reason}.")
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
        Actor(AuditAction.ALGO_RESUME, user, api_key, ip),
        now,
        start_at=start,
        end_at=end,
        next_due_at=next_due,
        plan_slice=parent.next_slice,
        plan_done=parent_progress(parent).done,
        paused_at=None,
    )


def parent_cancel(*, parent: ParentOrder, user=None, api_key=None, ip=None, now=None):
    """Cancelled, with its working children; the parent then reports what was filled."""
    now = now or timezone.now()
    by = Actor(AuditAction.ALGO_CANCEL, user, api_key, ip)
    parent = _status_set(
        parent, P.CANCELLED, {P.RUNNING, P.PAUSED}, "Cancelled", by, now, finished_at=now
    )
    _cancel_children(parent, user=user, api_key=api_key, ip=ip)
    return _with_fill_report(parent)


def parent_stop(*, parent: ParentOrder, reason: str, now=None) -> ParentOrder | None:
    """Stopped by the desk's controls (kill switch, halt, cancel-all): finished, no slice after,
    its working children canceled. None when it had finished already."""
    now = now or timezone.now()
    note = f"Stopped: {reason}"
    try:
        parent = _status_set(
            parent, P.STOPPED, {P.RUNNING, P.PAUSED}, note, SYSTEM, now, finished_at=now
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
        return _status_set(parent, P.COMPLETED, {P.RUNNING}, note, SYSTEM, now, finished_at=now)
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
            action=AuditAction.ALGO_CHANGE,
            actor=user,
            api_key=api_key,
            ip=ip,
            target=f"algo {parent.pk}",
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


@dataclass(frozen=True)
class Actor:
    """Who asked for a status change, and the audit action it is recorded as: none when the
    schedule itself or the desk's controls made it (their own entries say so)."""

    action: str = ""
    user: AbstractBaseUser | None = None
    api_key: ApiKey | None = None
    ip: str | None = None


SYSTEM = Actor()


def parent_stop_reason(parent: ParentOrder) -> str:
    """Why the desk's controls stop the parent (a halt, the kill switch or cancel-all on the
    desk or one of its accounts since it started), or ""."""
    account_ids = [account.pk for account in parent.accounts.all()]
    return stop_since(account_ids=account_ids, mark=parent.stop_mark)


def parents_stop_pending(*, now: datetime | None = None) -> int:
    """Stop every live parent the desk's controls hit, due or not, paused too: how many."""
    stopped = 0
    for parent in parents_hit_by_stops().prefetch_related("accounts"):
        reason = parent_stop_reason(parent)
        if reason and parent_stop(parent=parent, reason=reason, now=now) is not None:
            stopped += 1
    return stopped


def _status_set(parent, to, allowed_from, note, by: Actor, now, **fields) -> ParentOrder:
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
        if by.action and (by.user is not None or by.api_key is not None):
            audit_record(
                action=by.action,
                actor=by.user,
                api_key=by.api_key,
                ip=by.ip,
                target=f"algo {parent.pk}",
                note=note,
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
