"""Cancel: one order, every order of an account, the kill switch (which halts trading too); and
the workers' side, which sends them to the venue and applies its answer. Cancels pass whatever
the trading state."""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ApiKey, AuditAction, DeskRole, ExchangeAccount
from accounts.selectors import user_role
from accounts.services import account_venue, venue_error_record
from emsweb.logging import account_context, order_context
from risk.services import trading_halt
from risk.stops import stops_record
from venues.base import OrderRef, OrdStatus
from venues.errors import Rejected, VenueError

from .. import lifecycle
from ..models import EventCause, Order, RejectReason
from ..selectors import order_for_venue_report
from ..statuses import CANCELABLE, IN_ROUTING
from ..tasks import cancel_all_orders, cancel_order, delay_after_commit

logger = logging.getLogger(__name__)

S = OrdStatus


class OrderNotCancelable(Exception):
    pass


def order_cancel(
    *,
    order: Order,
    user: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
    reason: str = "",
) -> Order:
    """Ask for an order to be canceled. The venue's answer arrives through the worker.
    `reason`, when the cancel is emsweb's own doing (cancel on disconnect), goes in the audit
    entry."""
    _cancel(order, user=user)
    if api_key is not None:
        Order.objects.filter(pk=order.pk).update(canceled_with_key=api_key)
    audit_record(
        action=AuditAction.ORDER_CANCEL,
        actor=user,
        api_key=api_key,
        ip=ip,
        target=order.client_order_id,
        **({"reason": reason} if reason else {}),
    )
    return Order.objects.get(pk=order.pk)


def _cancel(order: Order, *, user: AbstractBaseUser | None) -> None:
    """order_cancel without its audit entry: cancel all records one entry for all its orders.

    A worker may move the order on while this runs (claim it, apply the venue's report): each
    step is a guarded write, and one that finds the order moved reads it again and takes the
    step its new status calls for."""
    for _ in range(len(S.values)):  # each pass follows a move forward: never more than these
        if order.status == S.RECEIVED:
            if _reject_before_routing(order, user=user):
                return
        elif order.status in IN_ROUTING:
            # The venue has not confirmed it yet: cancel as soon as it does.
            Order.objects.filter(pk=order.pk, cancel_requested_at__isnull=True).update(
                cancel_requested_at=timezone.now(), canceled_by=user
            )
            order_cancel_if_requested(order_id=order.pk)
            return
        elif order.status in CANCELABLE:
            if lifecycle.cancel_request(order.pk, user=user, cause=EventCause.CANCEL):
                return
        else:
            break
        order = Order.objects.get(pk=order.pk)
    raise OrderNotCancelable(f"Order {order.client_order_id} is {order.status}.")


def _reject_before_routing(order: Order, *, user: AbstractBaseUser | None) -> bool:
    return lifecycle.transition(
        order.pk,
        to=S.REJECTED,
        cause=EventCause.CANCEL,
        note="Canceled before it was routed.",
        allowed_from={S.RECEIVED},
        error_message="Canceled before it was routed.",
        reject_reason=RejectReason.LOCAL,
        canceled_by=user,
    )


def order_cancel_if_requested(*, order_id: int) -> None:
    lifecycle.cancel_if_requested(Order.objects.get(pk=order_id))


order_request_cancel = lifecycle.cancel_request


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
        venue_error_record(venue=order.account.venue, operation="cancel", error=refusal)
        # Often "unknown order": it may have just filled. Ask the venue what it is now.
        _resolve_after_refused_cancel(order, venue, refusal.message)
    except VenueError as problem:
        venue_error_record(venue=order.account.venue, operation="cancel", error=problem)
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
    """Halt trading, then cancel every open order of every account given (the ones the user
    may trade). A desk admin's kill switch halts the whole desk; anyone else's (or the shell's,
    with no user) halts the accounts given. Only a desk admin resumes trading
    (risk.services.trading_resume). Returns how many orders were asked to cancel."""
    desk = user is not None and user_role(user=user) == DeskRole.ADMIN
    if not desk and not accounts:
        raise PermissionDenied("You may trade no account: there is nothing to halt or cancel.")
    trading_halt(
        accounts=None if desk else accounts, user=user, api_key=api_key, ip=ip, reason="Kill switch"
    )
    return _cancel_all_recorded(AuditAction.KILL_SWITCH, accounts, user, api_key, ip)


def _cancel_all_recorded(action, accounts, user, api_key, ip) -> int:
    """Cancel all on each account, recorded as one entry: not one per account or per order.
    The stop is written first: an algorithm's slice placed after it cannot slip past the
    cancels (risk.stops)."""
    stops_record(accounts=accounts, reason=AuditAction(action).label)
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
    count = 0
    for order in Order.objects.filter(
        account=account, status__in={S.RECEIVED, *IN_ROUTING, *CANCELABLE}
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
            try:
                _cancel(order, user=user)
            except OrderNotCancelable:
                continue  # it finished while this ran: nothing left to cancel
            count += 1
    delay_after_commit(cancel_all_orders, account.pk)
    return count


def orders_cancel_all_send(*, account_id: int) -> None:
    """One cancel-all call at the venue, then the answer for each order applied."""
    account = ExchangeAccount.objects.get(pk=account_id)
    venue = account_venue(account=account)
    try:
        reports = venue.cancel_all()
    except VenueError as problem:
        venue_error_record(venue=account.venue, operation="cancel_all", error=problem)
        logger.warning(
            "account %s: cancel all failed (%s)",
            account.exchange_id,
            problem,
            extra=account_context(account),
        )
        for order_id in Order.objects.filter(account=account, status=S.PENDING_CANCEL).values_list(
            "pk", flat=True
        ):
            cancel_order.delay(order_id)
        return
    for report in reports:
        order = order_for_venue_report(account, report)
        if order is not None:
            lifecycle.apply_report(order.pk, report, cause=EventCause.CANCEL)
