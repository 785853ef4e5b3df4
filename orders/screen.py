"""The trading screen: one account and one instrument on one page (ticket, book, chart, working
orders, fills, balances). What it shows is built here from a user and the screen's parameters
rather than a request: the views render it, and the stream (stream.pages) pushes the very same
partial to an open screen when an order, a balance or the account changes.

Whose orders: the desk's. The working orders and the fills (and so the chart's lines and markers
and the book's "Desk" column) are those on this instrument of every account the user may see
(accounts.selectors.accounts_visible) on the same market as the screen's account: its venue, and
live or sandbox as it is. Another venue's, or the sandbox's, are another book at other prices. Each
row names its account, and has a cancel only where the user may trade that account. The
balances are the screen's account's: what its ticket may commit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Case, F, Sum, Value, When
from django.utils import timezone

from accounts.models import Balance, ExchangeAccount
from accounts.selectors import accounts_tradable, accounts_visible
from positions.pages import positions_context
from venues.base import InstrumentKind

from . import funds, selectors
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


def screen_accounts(*, user, screen: Screen):
    """The desk's accounts whose orders the screen shows: those the user may see on the screen
    account's market (its venue, live or sandbox as it is)."""
    account = screen.account
    return accounts_visible(user=user).filter(venue=account.venue, sandbox=account.sandbox)


def screen_live_context(*, user, screen: Screen, csrf_input: str = "") -> dict:
    """The screen's live part: the desk's working orders on the instrument, a cancel where the
    user may trade; its recent fills with fees; the desk's open size at each price (the book's
    marks); the screen account's balances of both assets, and its state in words."""
    account, instrument = screen.account, screen.instrument
    accounts = screen_accounts(user=user, screen=screen)
    working = Order.objects.filter(
        account__in=accounts, instrument=instrument, status__in=WORKING_STATUSES
    )
    found = list(working.order_by("-created_at", "-id").values(*ORDER_FIELDS)[: SCREEN_ORDERS + 1])
    more = working.count() - SCREEN_ORDERS if len(found) > SCREEN_ORDERS else 0
    tradable = set(
        accounts_tradable(user=user).filter(pk__in=accounts).values_list("pk", flat=True)
    )
    cancel_url = url_with_pk("trade_cancel")
    query = screen_query(screen)
    return {
        "screen": screen,
        "orders": [
            _order_row(
                order,
                instrument=instrument,
                cancel_url=cancel_url if order["account_id"] in tradable else None,
                query=query,
            )
            for order in found[:SCREEN_ORDERS]
        ],
        "more": more,
        "levels": _desk_levels(working) if more else [],
        "fills": [_fill_row(fill, instrument=instrument) for fill in _fills(accounts, screen)],
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
    *("pk", "account_id", "account__exchange_id", "client_order_id", "created_at", "status"),
    "side",
    *("amount_order", "amount_open", "price", "amount_filled"),
)


def _order_row(order: dict, *, instrument: Instrument, cancel_url, query: str) -> dict:
    """`cancel_url` None: the user may not trade the order's account. A cancel names the screen
    (`query`): what comes back is this screen's live part, whichever account the order is on."""
    lot, tick = instrument.lot_size, instrument.tick_size
    cancelable = cancel_url is not None and order["status"] != "PENDING_CANCEL"
    return {
        "pk": order["pk"],
        "account": order["account__exchange_id"],
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
        "cancel_url": f"{cancel_url(order['pk'])}?{query}" if cancelable else None,
    }


def _desk_levels(working) -> list[dict]:
    """The desk's open size at each price, over all of its working orders on the instrument:
    what the book marks when there are more than the rows shown (the rows make it otherwise)."""
    levels = working.values("side", "price").annotate(open=Sum("amount_open")).order_by("price")
    return [
        {
            "side": level["side"],
            "price_plain": plain(level["price"]),
            "open_plain": plain(level["open"]),
        }
        for level in levels
    ]


def _fills(accounts, screen: Screen):
    return (
        Fill.objects.filter(order__account__in=accounts, order__instrument=screen.instrument)
        .order_by("-time", "-id")
        .values("time", "price", "amount", "fee", "fee_asset", "liquidity", "trade_id")
        .annotate(
            side=F("order__side"),
            client_order_id=F("order__client_order_id"),
            account=F("order__account__exchange_id"),
        )[:SCREEN_FILLS]
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
    return AssetBalance(asset, balance, funds.balance_available(account=account, asset=asset))


def account_state(account: ExchangeAccount) -> list[str]:
    """What is wrong with the account, in words, for the place the trader is looking: a refused
    key, a venue that does not answer, trading switched off. Empty when nothing is."""
    problems = []
    if account.alert:
        problems.append(f"{account.get_alert_kind_display()}: {account.alert}")
    elif account.key_check_error:
        problems.append(f"Key refused: {account.key_check_error}")
    if account.last_sync_error:  # a successful sync clears it
        if account.last_sync_unreachable:
            problems.append(f"Venue unreachable at the last sync: {account.last_sync_error}")
        else:
            problems.append(f"The last sync failed: {account.last_sync_error}")
    if account.trading_refusal:
        problems.append(account.trading_refusal)
    return problems
