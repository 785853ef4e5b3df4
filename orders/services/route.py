"""Route: send a RECEIVED order to its venue once, and record what the venue said."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.utils import timezone

from accounts.services import account_venue, venue_error_record
from emsweb import sql
from emsweb.logging import order_context
from risk.rules import trading_halted
from venues.base import OrderIntent, OrdStatus, TimeInForce
from venues.errors import OutcomeUnknown, Rejected, Unreachable
from venues.registry import client_order_id_format

from .. import lifecycle
from ..changes import changes_bump
from ..gate import account_reconciled
from ..models import EventCause, Order, RejectReason
from ..notify import routing_settled
from ..sync import account_sync, positions_after_fill
from ..writes import Guard, order_write

logger = logging.getLogger(__name__)

S = OrdStatus


def order_route(*, order_id: int) -> None:
    """Send a RECEIVED order to its venue once, and record what the venue said.

    Only the worker whose guarded RECEIVED -> ROUTING update succeeds sends. If the outcome is
    unknown the order stays ROUTING and is never re-sent: account_sync looks it up.
    """
    order = sql.one(Order, "id", order_id, related=("account", "instrument"))
    if order is None:
        raise Order.DoesNotExist(f"No order {order_id}.")
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
    send_by = time.monotonic() + settings.EMSWEB_ROUTE_SEND_DEADLINE
    try:
        # Read after the claim, right before sending, so that a halt that came while this
        # worker reconciled the account (or waited for it) is obeyed.
        if halted := trading_halted(account_id=order.account_id):
            # Accepted just before a halt, and missed by the kill switch's cancels: not sent.
            _reject(order.pk, f"Not sent: {halted}", RejectReason.LOCAL)
        else:
            _route_claimed(order, send_by)
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
    give_up = time.monotonic() + settings.EMSWEB_RECONCILE_WAIT
    while not account_reconciled(account_id=account_id):
        if account_sync(account_id=account_id):  # it ran, and succeeded or failed
            return account_reconciled(account_id=account_id)
        if time.monotonic() > give_up:
            return False
        time.sleep(0.1)  # another worker's sync of the account is running: wait for it
    return True


def _route_claimed(order: Order, send_by: float) -> None:
    order_id = order.pk
    try:
        venue = account_venue(account=order.account)
    except Exception as problem:  # noqa: BLE001 - nothing was sent: a definite local refusal
        logger.exception(
            "order %s: no venue adapter", order.client_order_id, extra=order_context(order)
        )
        _reject(order_id, f"Cannot reach {order.account.venue}: {problem}", RejectReason.LOCAL)
        return
    if time.monotonic() > send_by:
        # Held up since its claim (a stalled thread, say): the sync may be about to declare it
        # never placed, so it must not go out now. Left ROUTING, the sync settles it.
        logger.error(
            "order %s: not sent, %s s after its claim; left to the sync",
            order.client_order_id,
            settings.EMSWEB_ROUTE_SEND_DEADLINE,
            extra=order_context(order),
        )
        return

    try:
        report = venue.submit(_intent(order))
    except Rejected as refusal:
        venue_error_record(venue=order.account.venue, operation="submit", error=refusal)
        _reject(order_id, refusal.message, RejectReason.VENUE)
    except Unreachable as unreachable:
        venue_error_record(venue=order.account.venue, operation="submit", error=unreachable)
        _reject(order_id, unreachable.message, RejectReason.EXCHANGE_UNREACHABLE)
    except OutcomeUnknown as unknown:
        venue_error_record(venue=order.account.venue, operation="submit", error=unknown)
        _outcome_unknown(order, unknown.message)
    except Exception as problem:  # noqa: BLE001 - may have reached the venue: never assume not
        venue_error_record(venue=order.account.venue, operation="submit", error=problem)
        logger.exception(
            "order %s: unexpected error while routing",
            order.client_order_id,
            extra=order_context(order),
        )
        _outcome_unknown(order, f"{type(problem).__name__}: {problem}")
    else:
        lifecycle.apply_report(order_id, report, cause=EventCause.ROUTE, order=order)
        lifecycle.cancel_if_requested(order)  # as the report left it: no need to read it again
        if report.amount_filled and order.instrument.is_derivative:
            positions_after_fill(account=order.account, venue=venue)


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
        reduce_only=order.reduce_only,
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
    # Not a status change, but the report's error_message changes: the stream must hear it.
    written = order_write(
        Guard(order.pk, {S.ROUTING}),
        {"outcome_unknown_at": timezone.now(), "error_message": f"Outcome unknown: {message}"},
        next_version=False,
    )
    if written is not None:
        changes_bump()
