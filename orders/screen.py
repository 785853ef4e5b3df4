"""The trading screen: one account and one instrument on one page (ticket, book, chart, working
orders, fills, balances). What it shows is built here from a user and the screen's parameters
rather than a request: the views render it, and the stream (stream.pages) pushes the very same
partial to an open screen when an order, a balance or the account changes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Case, F, Value, When
from django.utils import timezone

from accounts.models import Balance, ExchangeAccount
from accounts.selectors import accounts_tradable
from positions.pages import positions_context
from venues.base import InstrumentKind

from . import selectors
from .instruments import instrument_find
from .models import Fill, Instrument, Order, ScreenChoice
from .money import plain
from .pages import url_with_pk
from .statuses import WORKING_STATUSES
from .templatetags import desk

# Rows the screen shows: it is a glance at one market, the blotter and history hold the rest.
SCREEN_ORDERS = 50
SCREEN_FILLS = 20


@dataclass(frozen=True)
class Screen:
    account: ExchangeAccount
    instrument: Instrument


def screen_choose(*, user, account_pk: str = "", symbol: str = "") -> Screen | None:
    """The account and instrument to show: those asked for where the user may trade them, else
    the last ones used, else the first tradable account and its first instrument. None when the
    user may trade no account, or its venue lists no instrument yet."""
    accounts = accounts_tradable(user=user)
    remembered = ScreenChoice.objects.filter(user=user).select_related("instrument").first()
    account = None
    if account_pk.isascii() and account_pk.isdigit():
        account = accounts.filter(pk=int(account_pk)).first()
    if account is None and remembered is not None:
        account = accounts.filter(pk=remembered.account_id).first()
    if account is None:
        account = accounts.first()
    if account is None:
        return None
    instrument = instrument_find(venue=account.venue, symbol=symbol.strip()) if symbol else None
    if instrument is None and remembered is not None:
        kept = remembered.instrument
        instrument = kept if kept.venue == account.venue and kept.active else None
    if instrument is None:
        instrument = screen_instruments(account=account).first()
    if instrument is None:
        return None
    if remembered is None or (remembered.account_id, remembered.instrument_id) != (
        account.pk,
        instrument.pk,
    ):
        ScreenChoice.objects.update_or_create(
            user=user, defaults={"account": account, "instrument": instrument}
        )
    return Screen(account=account, instrument=instrument)


def screen_instruments(*, account: ExchangeAccount):
    """What the instrument search completes from: the account's own venue's markets, spot
    first (where a screen opens when nothing is asked for or remembered)."""
    derivative = Case(When(kind=InstrumentKind.SPOT, then=Value(0)), default=Value(1))
    return Instrument.objects.filter(venue=account.venue, active=True).order_by(
        derivative, "symbol_id_coinapi"
    )


def screen_find(*, user, account_pk: str, symbol: str) -> Screen | None:
    """The screen a page names (the stream's and the poll's parameters), exactly: None when
    the user may not trade that account or it has no such instrument. Remembers nothing."""
    if not (account_pk.isascii() and account_pk.isdigit()):
        return None
    account = accounts_tradable(user=user).filter(pk=int(account_pk)).first()
    if account is None:
        return None
    instrument = instrument_find(venue=account.venue, symbol=symbol)
    return None if instrument is None else Screen(account=account, instrument=instrument)


def screen_live_context(*, user, screen: Screen, csrf_input: str = "") -> dict:
    """The screen's live part: the account's working orders on the instrument with their cancel,
    its recent fills with fees, both assets' balances, and the account's state in words."""
    account, instrument = screen.account, screen.instrument
    working = Order.objects.filter(
        account=account, instrument=instrument, status__in=WORKING_STATUSES
    ).order_by("-created_at", "-id")
    found = list(working.values(*ORDER_FIELDS)[: SCREEN_ORDERS + 1])
    more = working.count() - SCREEN_ORDERS if len(found) > SCREEN_ORDERS else 0
    cancel_url = url_with_pk("trade_cancel")
    return {
        "screen": screen,
        "orders": [
            _order_row(order, instrument=instrument, cancel_url=cancel_url)
            for order in found[:SCREEN_ORDERS]
        ],
        "more": more,
        "fills": [_fill_row(fill, instrument=instrument) for fill in _fills(screen)],
        "balances": [_balance(account, asset) for asset in _assets(instrument)],
        "account_state": account_state(account),
        "settled": selectors.recently_settled(user=user, account=account),
        "csrf_input": csrf_input,
        "screen_query": screen_query(screen),
        "rendered_at": timezone.now(),
        **(
            positions_context(accounts=[account], symbol=instrument.symbol_id_exchange)
            if instrument.is_derivative
            else {}
        ),
    }


def screen_query(screen: Screen) -> str:
    """The screen's parameters, as its links, its poll and its stream name them."""
    return urlencode(
        {"account": screen.account.pk, "instrument": screen.instrument.symbol_id_coinapi}
    )


ORDER_FIELDS = (
    *("pk", "client_order_id", "created_at", "status", "side"),
    *("amount_order", "amount_open", "price", "amount_filled"),
)


def _order_row(order: dict, *, instrument: Instrument, cancel_url) -> dict:
    lot, tick = instrument.lot_size, instrument.tick_size
    return {
        "pk": order["pk"],
        "client_order_id": order["client_order_id"],
        "url": url_with_pk("order_detail")(order["pk"]),
        "placed": desk.when(order["created_at"]),
        "side": order["side"],
        "side_badge": desk.side_badge(order["side"]),
        "amount": desk.places(order["amount_order"], lot),
        "open": desk.places(order["amount_open"], lot),
        "filled": desk.places(order["amount_filled"], lot),
        "price": desk.places(order["price"], tick),
        # As plain numbers for the page's script: the book marks the desk's size at each price,
        # the chart draws a line at each.
        "price_plain": plain(order["price"]),
        "open_plain": plain(order["amount_open"]),
        "badge": desk.status_badge(order["status"]),
        "cancel_url": cancel_url(order["pk"]) if order["status"] != "PENDING_CANCEL" else None,
    }


def _fills(screen: Screen):
    return (
        Fill.objects.filter(order__account=screen.account, order__instrument=screen.instrument)
        .order_by("-time", "-id")
        .values("time", "price", "amount", "fee", "fee_asset", "liquidity", "trade_id")
        .annotate(side=F("order__side"), client_order_id=F("order__client_order_id"))[:SCREEN_FILLS]
    )


def _fill_row(fill: dict, *, instrument: Instrument) -> dict:
    return fill | {
        "when": desk.when(fill["time"]),
        "side_badge": desk.side_badge(fill["side"]),
        "price_shown": desk.places(fill["price"], instrument.tick_size),
        "amount_shown": desk.places(fill["amount"], instrument.lot_size),
        "price_plain": plain(fill["price"]),
        "timestamp": int(fill["time"].timestamp()),
    }


@dataclass(frozen=True)
class AssetBalance:
    asset: str
    balance: Decimal | None  # the venue's total, as of the last read; None: never read
    available: Decimal | None  # what the desk may still commit: the venue's, net of its orders


def _assets(instrument: Instrument) -> tuple[str, ...]:
    """What an order on the instrument trades with: both assets of a spot market, the
    settlement asset (its margin) of a derivative."""
    if instrument.is_derivative:
        return (instrument.settlement_asset,)
    return (instrument.base, instrument.quote)


def _balance(account: ExchangeAccount, asset: str) -> AssetBalance:
    """One asset's row, by the venue's code (ZUSD) or else the common one (USD)."""
    rows = Balance.objects.filter(account=account)
    balance = (
        rows.filter(asset_id_exchange=asset).values_list("balance", flat=True).first()
        or rows.filter(asset_id_coinapi=asset).values_list("balance", flat=True).first()
    )
    if balance is None and account.balances_synced_at:
        balance = Decimal(0)  # read, and the venue holds none of it
    return AssetBalance(asset, balance, selectors.balance_available(account=account, asset=asset))


def account_state(account: ExchangeAccount) -> list[str]:
    """What is wrong with the account, in words, for the place the trader is looking: a refused
    key, a venue that does not answer, trading switched off. Empty when nothing is."""
    problems = []
    if account.alert:
        problems.append(f"{account.get_alert_kind_display()}: {account.alert}")
    elif account.key_check_error:
        problems.append(f"Key refused: {account.key_check_error}")
    if account.last_sync_error:  # a successful read clears it
        problems.append(f"Venue unreachable at the last read: {account.last_sync_error}")
    if account.trading_refusal:
        problems.append(account.trading_refusal)
    return problems
