"""What the order pages show, built from a user and the page's parameters rather than a request:
the views render it, and the stream (stream.pages) renders the very same partials when it pushes
a change to an open page."""

from __future__ import annotations

import functools

from django.urls import get_script_prefix, reverse
from django.utils import timezone

from accounts.selectors import accounts_tradable
from venues.base import OrdStatus

from . import selectors
from .changes import changes_version
from .templatetags import desk

# Rows a blotter shows unless asked for all: a render costs time per row, and polls repeat it.
BLOTTER_ROWS = 200


def blotter_context(*, user, show_all: bool, csrf_input: str = "") -> dict:
    """The working orders, newest first; past BLOTTER_ROWS, the rest are counted and one link
    (?all=1) away. Query count is flat in the number of orders. `csrf_input` is the hidden token
    input every row's cancel form carries."""
    version = changes_version()
    accounts = list(accounts_tradable(user=user))
    tradable = {account.pk for account in accounts}
    working = selectors.blotter_orders(user=user)
    found = list(working if show_all else working[: BLOTTER_ROWS + 1])
    more = 0
    if not show_all and len(found) > BLOTTER_ROWS:
        found = found[:BLOTTER_ROWS]
        more = working.count() - BLOTTER_ROWS
    now = timezone.now()
    # Carried by the cancel forms, so that the blotter they re-render still shows all.
    keep_all = "?all=1" if show_all else ""
    return {
        "orders": [
            _blotter_row(values, tradable=tradable, now=now, keep_all=keep_all) for values in found
        ],
        "more": more,
        "show_all": show_all,
        "keep_all": keep_all,
        "version": version,
        "accounts": accounts,
        "can_trade": bool(tradable),
        # One token input for every row's cancel form: {% csrf_token %} per row was a third of
        # the render.
        "csrf_input": csrf_input,
    }


def blotter_rows_context(*, user, show_all: bool, csrf_input: str = "") -> dict:
    """The blotter's live part (its rows), with the orders settled lately for the page's toasts."""
    return blotter_context(user=user, show_all=show_all, csrf_input=csrf_input) | {
        "settled": selectors.recently_settled(user=user)
    }


def _blotter_row(order: dict, *, tradable: set[int], now, keep_all: str) -> dict:
    status = order["status"]
    reconciling = selectors.reconciling(
        status=status,
        routing_started_at=order["routing_started_at"],
        outcome_unknown_at=order["outcome_unknown_at"],
        now=now,
    )
    may_cancel = order["account_id"] in tradable and status != OrdStatus.PENDING_CANCEL
    return order_row(order) | {
        "badge": desk.status_badge(status, reconciling),
        "cancel_url": url_with_pk("order_cancel")(order["pk"]) + keep_all if may_cancel else None,
    }


def order_row(order: dict) -> dict:
    """One blotter or history line (from selectors.order_rows), formatted once here: a template
    filter per cell cost more than the query (bench/README.md). A dict, which a template looks
    into fastest."""
    pk, lot, tick = order["pk"], order["lot_size"], order["tick_size"]
    return {
        "pk": pk,
        "status": order["status"],
        "client_order_id": order["client_order_id"],
        "url": url_with_pk("order_detail")(pk),
        "placed": desk.when(order["created_at"]),
        "account": order["account_name"],
        "symbol": order["symbol"],
        "side": desk.side_badge(order["side"]),
        "amount": desk.places(order["amount_order"], lot),
        "price": desk.places(order["price"], tick),
        "filled": desk.places(order["amount_filled"], lot),
        "avg_px": desk.places(order["avg_px"], tick) if order["amount_filled"] else "—",
        "badge": desk.status_badge(order["status"]),
        "placed_by": order["placed_by"] or "outside emsweb",
    }


def url_with_pk(name: str):
    """The URL named `name` for a pk, as a format: reverse() per row was a tenth of a render."""
    return _url_format(name, get_script_prefix())


@functools.cache
def _url_format(name: str, script_prefix: str):
    return reverse(name, args=[PK_MARK]).replace(str(PK_MARK), "{}").format


PK_MARK = 918273645


def order_detail_context(*, user, pk: int) -> dict | None:
    """The order detail page's facts, timeline and fills; None when the user may not see it."""
    access = selectors.order_get_for_user(user=user, pk=pk)
    if access is None:
        return None
    order = access.order
    order.reconciling = selectors.is_reconciling(order)
    return {
        "order": order,
        "events": order.events.all(),
        "fills": order.fills.all(),
        "fees": selectors.fees_by_asset(order),
        "may_cancel": access.may_trade,
    }


def order_outcome_context(*, user, pk: int) -> dict | None:
    """What became of an order just placed (the ticket's outcome); None when the user may not
    see it."""
    access = selectors.order_get_for_user(user=user, pk=pk)
    return None if access is None else {"placed": access.order}
