"""One account's sync cycle: learn from the venue what happened, apply it through the lifecycle.

Two venue calls per cycle whatever the number of open orders (open orders, fills since a cursor),
plus balances when something changed or they are old (and positions then, or while any is
held: marks move them; the router reads them too after a derivative's fill,
`positions_after_fill`), plus a lookup per order whose fate the
first two calls cannot tell (it left the open list, its routing outcome is unknown, or a trade
names a venue order emsweb does not know: one placed by hand that finished unseen).
Overlapping syncs of one account are skipped, not stacked.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from accounts.credentials import CredentialsUnreadable
from accounts.models import ExchangeAccount
from accounts.services import (
    account_sync_record,
    account_venue,
    balances_first_read_settled,
    balances_record,
    venue_error_record,
)
from emsweb.logging import account_context
from positions.reconcile import positions_reconcile
from positions.selectors import positions_due
from positions.services import positions_record
from venues.base import OrdStatus, TimeInForce, Venue, VenueOrder, hint_symbols, venue_positions
from venues.ccxt.limits import Throttled
from venues.errors import Unreachable, VenueError
from venues.registry import UnknownVenue

from . import lifecycle
from .changes import changes_bump
from .gate import mark_reconciled, records_lock, records_owed, records_owed_take, sync_lock
from .instruments import instrument_find
from .models import EventCause, Order, OrderOrigin, RejectReason
from .selectors import order_for_venue_report
from .statuses import AT_VENUE_NOW, CANCELABLE, WORKING_STATUSES
from .writes import order_insert

logger = logging.getLogger(__name__)

S = OrdStatus
SYMBOLS_RECENT = timedelta(hours=1)


def account_sync(*, account_id: int) -> bool:
    """Run one sync cycle for an account. False if another sync of it was already running."""
    with sync_lock(account_id) as acquired:
        if not acquired:
            return False
        account = ExchangeAccount.objects.get(pk=account_id)
        try:
            _sync(account, account_venue(account=account))
        except Exception as problem:  # noqa: BLE001 - a failed sync is recorded, never raised
            # A venue error says what happened; anything else is a bug whose message could
            # carry request details, so the account records its kind and the log the traceback.
            known = isinstance(problem, VenueError | UnknownVenue | CredentialsUnreadable)
            message = str(problem) if known else f"{type(problem).__name__}: see the worker log"
            if not known:
                logger.exception("sync %s failed", account.exchange_id)
            venue_error_record(venue=account.venue, operation="sync", error=problem)
            # Held back by the shared budget or a venue's back-off is not "unreachable".
            unreachable = isinstance(problem, Unreachable) and not isinstance(problem, Throttled)
            account_sync_record(account=account, error=message, unreachable=unreachable)
            logger.warning(
                "sync %s failed: %s", account.exchange_id, message, extra=account_context(account)
            )
        else:
            account_sync_record(account=account, error=None)
            mark_reconciled(account_id)
        if account.balances_synced_at is None:
            balances_first_read_settled(account=account)
        return True


def _sync(account: ExchangeAccount, venue: Venue) -> None:
    hint_symbols(venue, _symbols_in_play(account))
    open_reports = venue.open_orders()
    fills, cursor = venue.fills_since(account.fills_cursor or None)

    # Fills first for the orders we know: a venue whose open-order reports carry no fills
    # (most real exchanges) would otherwise have the report raise amount_filled first, and the
    # trades that explain it would then find nothing left to change.
    changed, unknown = _apply_fills(account, fills)
    working = WorkingOrders(account)
    seen = set()
    for report in open_reports:
        order = working.find(report)
        known = order is not None and not order.cancel_requested_at
        if known and not lifecycle.report_changes(order, report):
            # What we know already: nothing to write, and nothing to read again per order (a
            # cycle over a thousand open orders stays a handful of queries).
            seen.add(order.pk)
            continue
        order = order or order_for_venue_report(account, report) or _adopt(account, report)
        if order is None:
            continue
        seen.add(order.pk)
        changed |= lifecycle.apply_report(order.pk, report, cause=EventCause.SYNC)
        lifecycle.cancel_if_requested(Order.objects.get(pk=order.pk))
    changed |= _adopt_finished_outside_orders(account, venue, unknown)
    # Again after the open list and the lookups, for the fills of the orders adopted just now.
    changed |= _apply_fills(account, unknown)[0]
    if cursor and cursor != account.fills_cursor:
        ExchangeAccount.objects.filter(pk=account.pk).update(fills_cursor=cursor)

    changed |= _settle_orders_gone_from_venue(account, venue, seen)
    changed |= _reconcile_unknown_outcomes(account, venue)
    _expire_oms_orders(account)

    stale = timezone.now() - timedelta(seconds=settings.EMSWEB_BALANCE_REFRESH)
    balances_due = (
        changed
        or account.balances_synced_at is None
        or account.balances_synced_at < stale
        or records_owed_take(account.pk)
    )
    # Marks, funding and liquidations move a position (and its wallet) with no order news.
    _positions_and_balances(
        account,
        venue,
        positions=balances_due or positions_due(account=account),
        balances=balances_due,
        reconcile=True,
    )


def _positions_and_balances(
    account, venue: Venue, *, positions: bool, balances: bool, reconcile: bool = False
) -> None:
    """Record the positions if asked, and the balances if asked or the positions changed, and
    with `reconcile` (a sync's read) compare them with the desk's fills; under
    the account's records lock (the router records them too), skipped if another's read holds
    it too long: the next sync then owes the read."""
    if not (positions or balances):
        return
    with records_lock(account.pk) as acquired:
        if not acquired:
            logger.warning(
                "account %s: positions and balances not read: another read holds them",
                account.exchange_id,
                extra=account_context(account),
            )
            records_owed(account.pk)
            return
        if positions:
            held = venue_positions(venue)
            if held is not None and positions_record(account=account, positions=held):
                balances = True
            if held is not None and reconcile:
                positions_reconcile(account=account, positions=held)
        if balances:
            balances_record(account=account, balances=venue.balances())


def positions_after_fill(*, account: ExchangeAccount, venue: Venue) -> None:
    """A worker that learned of a fill on a derivative outside a sync (the route's report)
    records the account's positions now, and its balances if they moved, so that
    POSITION_UPDATE follows the fill rather than the next sync. Never raises: the fill is
    recorded already, and the next sync reads them anyway."""
    try:
        _positions_and_balances(account, venue, positions=True, balances=False)
    except Exception as problem:  # noqa: BLE001 - the next sync reads them
        venue_error_record(venue=account.venue, operation="positions", error=problem)
        logger.warning(
            "account %s: positions after a fill not read: %s",
            account.exchange_id,
            type(problem).__name__,
            extra=account_context(account),
        )


class WorkingOrders:
    """The account's orders not yet terminal, read in one query, found by the ids a venue
    report names them by (as selectors.order_for_venue_report finds them one at a time)."""

    # What a cycle reads of each (finding it, and lifecycle.report_changes): a sync reads every
    # working order each cycle, and building whole orders was most of a quiet cycle's CPU.
    FIELDS = (
        "client_order_id", "client_order_id_format_exchange", "exchange_order_id",
        "cancel_requested_at", "status", "amount_order", "amount_filled",
    )  # fmt: skip

    def __init__(self, account: ExchangeAccount):
        working = Order.objects.filter(account=account, status__in=WORKING_STATUSES)
        orders = list(working.only(*self.FIELDS))
        self.by_client = {o.client_order_id_format_exchange: o for o in orders}
        self.by_client.pop("", None)
        self.by_client.update({o.client_order_id: o for o in orders})  # our own id first
        self.by_exchange = {o.exchange_order_id: o for o in orders if o.exchange_order_id}

    def find(self, report: VenueOrder) -> Order | None:
        found = self.by_client.get(report.client_order_id) if report.client_order_id else None
        return found or self.by_exchange.get(report.exchange_order_id or "")


def _symbols_in_play(account: ExchangeAccount) -> set[str]:
    """The symbols of orders working, being routed, or changed lately: where a venue charges
    for unscoped calls, the sync asks about these."""
    recent = timezone.now() - SYMBOLS_RECENT
    in_play = Order.objects.filter(account=account).filter(
        Q(status__in={S.ROUTING, *AT_VENUE_NOW}) | Q(updated_at__gte=recent)
    )
    return set(in_play.values_list("instrument__symbol_id_exchange", flat=True))


def _apply_fills(account: ExchangeAccount, fills) -> tuple[bool, list]:
    """Apply each known order's fills. Returns whether anything changed, and the fills of the
    orders not known (yet: adopted from the open list or by a lookup)."""
    by_order = defaultdict(list)
    for fill in fills:
        by_order[(fill.client_order_id, fill.exchange_order_id)].append(fill)
    changed, unknown = False, []
    for (client_order_id, exchange_order_id), order_fills in by_order.items():
        order = _order_traded(account, client_order_id, exchange_order_id)
        if order is None:
            unknown += order_fills
            continue
        changed |= lifecycle.apply_fills(order.pk, order_fills, cause=EventCause.SYNC)
    return changed, unknown


def _order_traded(account, client_order_id: str | None, exchange_order_id: str) -> Order | None:
    """The order a trade names, by our client order id first, else the venue's order id."""
    orders = Order.objects.filter(account=account)
    return (
        client_order_id and orders.filter(client_order_id=client_order_id).first()
    ) or orders.filter(exchange_order_id=exchange_order_id).first()


def _adopt_finished_outside_orders(account, venue: Venue, fills) -> bool:
    """Trades of orders emsweb did not know (`fills`) and the open list did not show: placed
    outside emsweb that finished (filled, or traded then canceled) while nobody was watching.
    Each is looked up by the exchange's order id, which every trade names (most exchanges'
    trades carry no client order id), and adopted with its final state; once known, its
    trades find it, so they count once. One the report names by a client order id of ours
    (a create whose outcome is unknown: no exchange id yet) is that order, never adopted."""
    changed = False
    traded = {(f.client_order_id, f.exchange_order_id): f.symbol_id_exchange for f in fills}
    for (client_order_id, exchange_order_id), symbol in traded.items():
        if _order_traded(account, client_order_id, exchange_order_id) is not None:
            continue
        report = venue.lookup_by_exchange_id(exchange_order_id, symbol)
        if report is None or report.exchange_order_id != exchange_order_id:
            logger.warning(
                "account %s: a trade of venue order %s, which could not be looked up",
                account.exchange_id,
                exchange_order_id,
                extra={**account_context(account), "exchange_order_id": exchange_order_id},
            )
            continue
        order = order_for_venue_report(account, report) or _adopt(account, report)
        if order is not None:
            changed |= lifecycle.apply_report(order.pk, report, cause=EventCause.SYNC)
    return changed


def _settle_orders_gone_from_venue(account, venue: Venue, seen: set[int]) -> bool:
    """Orders we think are working that the venue no longer lists: ask what became of them."""
    changed = False
    gone = Order.objects.filter(account=account, status__in=AT_VENUE_NOW).exclude(pk__in=seen)
    for order in gone.select_related("instrument"):
        found = venue.lookup(order.client_order_id, order.instrument.symbol_id_exchange)
        if found is not None:
            changed |= lifecycle.apply_report(order.pk, found, cause=EventCause.SYNC)
    return changed


def _reconcile_unknown_outcomes(account, venue: Venue) -> bool:
    """ROUTING orders whose worker may have died or timed out: find them by client order id.

    "Not found" is evidence, not proof: only after several lookups that found nothing, and
    long enough after routing began that the request cannot still arrive, is the order
    declared never placed.
    """
    now = timezone.now()
    due = now - timedelta(seconds=settings.EMSWEB_RECONCILE_AFTER)
    give_up = now - timedelta(seconds=settings.EMSWEB_NEVER_PLACED_AFTER)
    changed = False
    routing = Order.objects.filter(account=account, status=S.ROUTING, routing_started_at__lt=due)
    for order in routing.select_related("instrument"):
        found = venue.lookup(order.client_order_id, order.instrument.symbol_id_exchange)
        if found is not None:
            changed |= lifecycle.apply_report(order.pk, found, cause=EventCause.RECONCILE)
            lifecycle.cancel_if_requested(Order.objects.get(pk=order.pk))
            continue
        lookups = order.not_found_lookups + 1
        Order.objects.filter(pk=order.pk).update(not_found_lookups=lookups)
        if lookups >= settings.EMSWEB_NOT_FOUND_LOOKUPS and order.routing_started_at < give_up:
            message = (
                f"Never placed: {account.venue} has no order with this client_order_id after "
                f"{lookups} lookups over {(now - order.routing_started_at).seconds} s. "
                "Safe to submit again with a new client_order_id."
            )
            changed |= lifecycle.transition(
                order.pk,
                to=S.REJECTED,
                cause=EventCause.RECONCILE,
                note=message,
                allowed_from={S.ROUTING},
                error_message=message,
                reject_reason=RejectReason.NEVER_PLACED,
            )
    return changed


def _expire_oms_orders(account) -> None:
    """GOOD_TILL_TIME_OMS is emsweb's to enforce: cancel what has passed its expiry."""
    expired = Order.objects.filter(
        account=account,
        time_in_force=TimeInForce.GOOD_TILL_TIME_OMS,
        expire_time__lte=timezone.now(),
        status__in=CANCELABLE,
    ).values_list("pk", flat=True)
    for order_id in expired:
        lifecycle.cancel_request(
            order_id, user=None, cause=EventCause.EXPIRY, note="Expired (GOOD_TILL_TIME_OMS)"
        )


def _adopt(account: ExchangeAccount, report: VenueOrder) -> Order | None:
    """An order at the venue that emsweb did not place: track it from now on (the caller
    applies the report, which takes a finished one to its final state)."""
    instrument = instrument_find(
        venue=account.venue, symbol=report.symbol_id_exchange, active=False
    )
    if instrument is None:
        logger.warning(
            "account %s: venue order %s on unknown instrument %s",
            account.exchange_id,
            report.exchange_order_id,
            report.symbol_id_exchange,
            extra={**account_context(account), "exchange_order_id": report.exchange_order_id},
        )
        return None
    status = S.PARTIALLY_FILLED if report.amount_filled > 0 else S.NEW
    order = Order(
        client_order_id=report.client_order_id or f"EXT-{report.exchange_order_id}",
        account=account,
        instrument=instrument,
        side=report.side,
        time_in_force=report.time_in_force,
        amount_order=report.amount,
        amount_filled=report.amount_filled,
        amount_open=report.amount - report.amount_filled,
        avg_px=report.avg_px,
        price=report.price,
        status=status,
        exchange_order_id=report.exchange_order_id,
        client_order_id_format_exchange=report.client_order_id_format_exchange,
        origin=OrderOrigin.EXTERNAL,
    )
    try:
        order_insert(
            order, cause=EventCause.SYNC, note="Found at the venue; placed outside emsweb."
        )
    except IntegrityError:
        logger.error(
            "account %s: venue order %s has client_order_id %s, which another order uses",
            account.exchange_id,
            report.exchange_order_id,
            report.client_order_id,
            extra={**account_context(account), "client_order_id": report.client_order_id},
        )
        return None
    changes_bump()
    return order
