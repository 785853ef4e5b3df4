"""The paper exchange: markets that step, accounts and their knobs, orders and matching.

Plain functions over the paper models; the book's shape and the random walk are in `synthetic`,
what orders lock and fills move is in `ledger`. Every change runs in one transaction that locks one
market row first and then the accounts it touches, in id order. So two worker processes can
neither interleave matching on one market nor deadlock each other, and an account's trades get
their ids in commit order, which lets the trade id serve as a fills cursor. No transaction holds
two market rows: advancing the markets steps each one in its own transaction.
"""

from __future__ import annotations

import contextlib
import copy
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet, prefetch_related_objects
from django.utils import timezone

from emsweb import sql
from venues.base import Candle, OrderIntent, OrdSide, TimeInForce
from venues.errors import DuplicateClientOrderId, Rejected
from venues.paper import derivatives, ledger, settlement, synthetic
from venues.paper.candles import candle_record, candles_get
from venues.paper.markets import ASSETS, FUNDING, MARKETS, MarketDef, listed
from venues.paper.marks import Marked, positions_marked
from venues.paper.models import (
    OPEN_STATUSES,
    Fault,
    PaperAccount,
    PaperBalance,
    PaperMarket,
    PaperOrder,
    PaperPosition,
    PaperStatus,
    PaperTrade,
    pk_from_exchange_order_id,
)
from venues.paper.synthetic import Book, Level

UNKNOWN_PAIR = "EQuery:Unknown asset pair"
BAD_VOLUME = "EGeneral:Invalid arguments:volume"
BAD_PRICE = "EGeneral:Invalid arguments:price"
COST_MINIMUM = "EGeneral:Invalid arguments:cost minimum not met"
BAD_EXPIRE_TIME = "EGeneral:Invalid arguments:expiretm"
INSUFFICIENT_FUNDS = "EOrder:Insufficient funds"
POST_ONLY = "EOrder:Post only order"
UNKNOWN_ORDER = "EOrder:Unknown order"
DUPLICATE_ORDER = "EOrder:Duplicate client order id"
SPOT_REDUCE_ONLY = "EGeneral:Invalid arguments:reduce_only applies to derivatives only"
EXPIRED_MARKET = "EOrder:Market closed: {symbol} expired at {at:%Y-%m-%d %H:%M} UTC"

CANCELED_BY_USER = "User requested"
EXPIRED = "Expired"
IOC_REMAINDER = "Immediate-or-cancel: unfilled remainder canceled"
FOK_KILLED = "Fill-or-kill: the book could not fill the whole order"

RATE_QUANTUM = Decimal("1e-12")
MAX_CATCH_UP_STEPS = 10
KNOBS = frozenset({"latency_ms", "fault", "fault_delay_ms"})


# --- Markets -----------------------------------------------------------------------------------


def market_def(symbol: str) -> MarketDef:
    try:
        return MARKETS[symbol]
    except KeyError:
        raise Rejected(UNKNOWN_PAIR) from None


def _market_get_or_create(symbol: str, now: datetime) -> PaperMarket:
    definition = market_def(symbol)
    start = synthetic.on_multiple(definition.start_price(), definition.tick_size, ROUND_HALF_EVEN)
    market, _ = PaperMarket.objects.get_or_create(
        symbol=symbol, defaults={"mid": start, "stepped_at": now}
    )
    return market


def markets_get(now: datetime | None = None) -> dict[str, PaperMarket]:
    """Every market's row by symbol, those listed now created at their start price if
    missing."""
    now = now or timezone.now()
    markets = {market.symbol: market for market in PaperMarket.objects.all()}
    for definition in listed(now):
        if definition.symbol not in markets:
            markets[definition.symbol] = _market_get_or_create(definition.symbol, now)
    return markets


def _lock_market(symbol: str, now: datetime) -> PaperMarket:
    locked = PaperMarket.objects.select_for_update().filter(symbol=symbol).first()
    if locked is not None:
        return locked
    _market_get_or_create(symbol, now)  # its first use
    return PaperMarket.objects.select_for_update().get(symbol=symbol)


def _steps_due(market: PaperMarket, now: datetime) -> int:
    seconds = settings.EMSWEB_PAPER_TICK_SECONDS
    if seconds <= 0:
        return 0
    return max(0, int((now - market.stepped_at).total_seconds() // seconds))


def _claim_due_steps(market: PaperMarket, now: datetime) -> list[datetime]:
    """Move `stepped_at` past the whole tick intervals elapsed; return the times of the steps
    to take, at most MAX_CATCH_UP_STEPS (a market left alone for an hour does not replay it)."""
    due = _steps_due(market, now)
    if not due:
        return []
    interval = timedelta(seconds=settings.EMSWEB_PAPER_TICK_SECONDS)
    market.stepped_at += due * interval
    taken = min(due, MAX_CATCH_UP_STEPS)
    return [market.stepped_at - (taken - 1 - k) * interval for k in range(taken)]


def advance_markets(now: datetime | None = None) -> None:
    """Step every market by the tick intervals elapsed, then match and expire resting orders.

    Called on every sync tick. With EMSWEB_PAPER_TICK_SECONDS == 0 prices stay frozen, but
    good-till-time orders still expire when their time has passed.
    """
    now = now or timezone.now()
    expiring = set(_expirable(now).values_list("symbol", flat=True).distinct().order_by("symbol"))
    for market in markets_get(now).values():
        definition = MARKETS[market.symbol]
        until = min(now, definition.expires_at) if definition.expiry else now  # a future stops
        if market.symbol in expiring or _steps_due(market, until) or _funding_due(market, now):
            with transaction.atomic():
                _advance_market(_lock_market(market.symbol, now), until)
        if settlement.expiry_due(market.symbol, now):
            with transaction.atomic():
                locked = _lock_market(market.symbol, now)
                _lock_accounts_on(locked)
                settlement.expire(locked)


def _funding_due(market: PaperMarket, now: datetime) -> bool:
    return settlement.funding_due(market.symbol, now)


def _lock_accounts_on(market: PaperMarket) -> None:
    if MARKETS[market.symbol].is_derivative:
        derivatives.lock_accounts(market)
    else:
        ledger.lock_resting_accounts(market)


def _settle(market: PaperMarket, now: datetime) -> None:
    """A derivative market's funding and liquidations, once it has moved and matched."""
    if MARKETS[market.symbol].is_derivative:
        settlement.settle(market, now)


def _advance_market(market: PaperMarket, now: datetime) -> None:
    # The row is read again under its lock: another worker may have stepped it meanwhile.
    _lock_accounts_on(market)
    for step_time in _claim_due_steps(market, now):
        synthetic.random_step(market)
        candle_record(market.symbol, step_time, market.mid)
        _expire(market, step_time)
        _match_resting(market, step_time)
        _settle(market, step_time)
    _expire(market, now)
    _settle(market, now)
    market.save()


def market_set_mid(symbol: str, mid: Decimal | int | str, now: datetime | None = None) -> None:
    """Start a new step at this mid (snapped to the tick), with a fresh book, and match.

    For tests and rehearsals: it makes the market cross resting orders when wanted.
    """
    if isinstance(mid, float):
        raise TypeError("A mid is a Decimal, an int or a str, never a float.")
    now = now or timezone.now()
    tick = market_def(symbol).tick_size
    mid = synthetic.on_multiple(Decimal(mid), tick, ROUND_HALF_EVEN)
    if mid <= 0:
        raise ValueError(f"A mid must be positive, not {mid}.")
    with transaction.atomic():
        market = _lock_market(symbol, now)
        _lock_accounts_on(market)
        synthetic.begin_step(market, mid)
        candle_record(symbol, now, mid)
        _expire(market, now)
        _match_resting(market, now)
        _settle(market, now)
        market.save()


# --- The synthetic book ------------------------------------------------------------------------


def book(symbol: str) -> Book:
    """The synthetic book now: each level with what is left of it during this step."""
    market = _market_get_or_create(symbol, timezone.now())
    return Book(
        bids=[level for _, level in synthetic.available(market, "bids")],
        asks=[level for _, level in synthetic.available(market, "asks")],
    )


def candles(symbol: str, limit: int) -> list[Candle]:
    """The market's last `limit` one-minute candles, oldest first (venues.paper.candles)."""
    now = timezone.now()
    return candles_get(_market_get_or_create(symbol, now), now, limit)


def best_bid_ask(symbol: str) -> tuple[Decimal | None, Decimal | None]:
    current = book(symbol)
    return (
        current.bids[0].price if current.bids else None,
        current.asks[0].price if current.asks else None,
    )


def usd_rates() -> dict[str, Decimal]:
    """What one unit of each asset is worth in USD, from the spot markets' mids."""
    rates = {"USD": Decimal(1), "USDT": Decimal(1)}  # the paper exchange's USDT holds its peg
    for symbol, market in sorted(markets_get().items()):
        definition = MARKETS[symbol]
        if definition.is_derivative:
            continue
        if definition.quote == "USD":
            rates.setdefault(definition.base, market.mid.quantize(definition.tick_size))
        elif definition.base == "USD":
            rates.setdefault(definition.quote, (1 / market.mid).quantize(RATE_QUANTUM))
    return rates


# --- Accounts and balances ---------------------------------------------------------------------


def account_get(account_key: str) -> PaperAccount:
    """The paper account for this key, created and funded on first use."""
    account = sql.one(PaperAccount, "account_key", account_key)  # before every request
    if account is not None:
        return account
    with transaction.atomic():
        account, created = PaperAccount.objects.get_or_create(account_key=account_key)
        if created:
            PaperBalance.objects.bulk_create(
                PaperBalance(account=account, asset=asset, total=FUNDING.get(asset, Decimal(0)))
                for asset in ASSETS
            )
    return account


def set_knobs(account_key: str, **knobs: object) -> PaperAccount:
    """Set `latency_ms`, `fault` (a Fault) and/or `fault_delay_ms` on the account."""
    unknown = knobs.keys() - KNOBS
    if unknown:
        raise TypeError(f"Unknown paper knobs: {', '.join(sorted(unknown))}.")
    if "fault" in knobs:
        knobs["fault"] = Fault(knobs["fault"])
    account = account_get(account_key)
    PaperAccount.objects.filter(pk=account.pk).update(**knobs)
    account.refresh_from_db()
    return account


def balances_get(account_key: str) -> list[PaperBalance]:
    return list(account_get(account_key).balances.order_by("asset"))


# --- Orders ------------------------------------------------------------------------------------


def _venue_time_in_force(intent: OrderIntent) -> tuple[TimeInForce, datetime | None]:
    # The EMS expires GOOD_TILL_TIME_OMS orders itself: to the venue they are good till cancel.
    if intent.time_in_force == TimeInForce.GOOD_TILL_TIME_EXCHANGE:
        return TimeInForce.GOOD_TILL_TIME_EXCHANGE, intent.expire_time
    if intent.time_in_force == TimeInForce.GOOD_TILL_TIME_OMS:
        return TimeInForce.GOOD_TILL_CANCEL, None
    return TimeInForce(intent.time_in_force), None


def _validate(intent: OrderIntent, definition: MarketDef, now: datetime) -> None:
    price, amount = intent.price, intent.amount
    if not price.is_finite() or price <= 0 or price % definition.tick_size:
        raise Rejected(BAD_PRICE)
    if not amount.is_finite() or amount < definition.min_amount or amount % definition.lot_size:
        raise Rejected(BAD_VOLUME)
    if price * amount < definition.min_notional:
        raise Rejected(COST_MINIMUM)
    if intent.time_in_force == TimeInForce.GOOD_TILL_TIME_EXCHANGE and (
        intent.expire_time is None or intent.expire_time <= now
    ):
        raise Rejected(BAD_EXPIRE_TIME)
    if intent.reduce_only and not definition.is_derivative:
        raise Rejected(SPOT_REDUCE_ONLY)
    if definition.expired(now):
        raise Rejected(EXPIRED_MARKET.format(symbol=definition.symbol, at=definition.expires_at))


def order_submit(
    account_key: str,
    intent: OrderIntent,
    now: datetime | None = None,
    *,
    account: PaperAccount | None = None,
) -> PaperOrder:
    """Validate and place an order, take what it can from the book, rest or cancel the rest.

    Raises Rejected, with nothing recorded, when a real venue would refuse it, and
    DuplicateClientOrderId when the account already has an order with this client order id.
    `account`: the key's account, when the caller has just read it.
    """
    now = now or timezone.now()
    definition = market_def(intent.symbol_id_exchange)
    _validate(intent, definition, now)
    account = account or account_get(account_key)
    try:
        with transaction.atomic():
            market, funding = _lock_for_entry(account, definition, intent.side, now)
            consumed = copy.deepcopy(market.consumed)
            order = _place(account, intent, market, funding, now)
            if market.consumed != consumed:  # it took from the book
                market.save(update_fields=["consumed"])
    except IntegrityError:
        if _client_order_id_used(account, intent.client_order_id):
            raise DuplicateClientOrderId(DUPLICATE_ORDER) from None
        raise
    return order


def _lock_for_entry(
    account: PaperAccount, definition: MarketDef, side: str, now: datetime
) -> tuple[PaperMarket, PaperBalance]:
    """The market's lock, then the account's, and the balance a new order reserves from."""
    asset = ledger.funding_asset(definition.symbol, side)
    locked = ledger.lock_for_entry(definition.symbol, account.pk, asset)
    if locked is not None:
        return locked
    market = _lock_market(definition.symbol, now)  # the market's or the balance's first use
    ledger.lock_accounts([account.pk])
    return market, ledger.balance(account.pk, asset)


def _client_order_id_used(account: PaperAccount, client_order_id: str) -> bool:
    return bool(client_order_id) and account.orders.filter(client_order_id=client_order_id).exists()


def _place(
    account: PaperAccount,
    intent: OrderIntent,
    market: PaperMarket,
    funding: PaperBalance,
    now: datetime,
) -> PaperOrder:
    """A second order with a client order id the account has used is refused as a duplicate,
    whatever else it would meet now: by the unique constraint when the order would be placed,
    and by a lookup before any refusal (the first may have locked the funds it needs)."""
    try:
        return _enter(account, intent, market, funding, now)
    except Rejected:
        if _client_order_id_used(account, intent.client_order_id):
            raise DuplicateClientOrderId(DUPLICATE_ORDER) from None
        raise


def _enter(
    account: PaperAccount,
    intent: OrderIntent,
    market: PaperMarket,
    funding: PaperBalance,
    now: datetime,
) -> PaperOrder:
    side = OrdSide(intent.side)
    crossing = synthetic.crossing(market, side, intent.price)
    if intent.post_only and crossing:
        raise Rejected(POST_ONLY)
    definition = MARKETS[market.symbol]
    if definition.is_derivative:
        best = crossing[0][1].price if crossing else None
        reservation = derivatives.entry_reservation(account.pk, definition, intent, best)
    else:
        reservation = ledger.reservation(side, intent.price, intent.amount)
    if funding.available < reservation:
        raise Rejected(INSUFFICIENT_FUNDS)
    time_in_force, expire_time = _venue_time_in_force(intent)
    order = PaperOrder(
        account=account,
        client_order_id=intent.client_order_id,
        symbol=market.symbol,
        side=side,
        price=intent.price,
        amount=intent.amount,
        locked=reservation,
        status=PaperStatus.NEW,
        time_in_force=time_in_force,
        expire_time=expire_time,
        post_only=intent.post_only,
        reduce_only=intent.reduce_only,
        created_at=now,
    )
    ledger.enter(order, funding)
    _take_on_entry(order, market, crossing, now)
    return order


def _take_on_entry(
    order: PaperOrder,
    market: PaperMarket,
    crossing: list[tuple[int, Level]],
    now: datetime,
) -> None:
    fill_or_kill = order.time_in_force == TimeInForce.FILL_OR_KILL
    if fill_or_kill and sum(level.size for _, level in crossing) < order.amount:
        ledger.close(order, FOK_KILLED, now)
        return
    fill = _filler(order)
    for index, level in crossing:
        if not order.is_open:
            break
        amount = min(level.size, order.remaining)
        fill(order, market, index, amount, level.price, now, taker=True)
    if order.is_open and order.time_in_force == TimeInForce.IMMEDIATE_OR_CANCEL:
        ledger.close(order, IOC_REMAINDER, now)


def _priority(order: PaperOrder) -> tuple:
    # Best price first (highest BUY, lowest SELL), then oldest.
    price = -order.price if order.side == OrdSide.BUY else order.price
    return (order.side, price, order.created_at, order.pk)


def _match_resting(market: PaperMarket, now: datetime) -> None:
    """Fill resting orders the market now crosses, at their own limit, as makers.

    The caller holds the market and the resting orders' accounts
    (`ledger.lock_resting_accounts`)."""
    resting = PaperOrder.objects.filter(symbol=market.symbol, status__in=OPEN_STATUSES)
    crossed = [order for order in resting if synthetic.crossing(market, order.side, order.price)]
    for order in sorted(crossed, key=_priority):
        fill = _filler(order)
        for index, level in synthetic.crossing(market, order.side, order.price):
            if not order.is_open:
                break
            amount = min(level.size, order.remaining)
            fill(order, market, index, amount, order.price, now, taker=False)


def _filler(order: PaperOrder):
    return derivatives.fill if MARKETS[order.symbol].is_derivative else ledger.fill


def _expirable(now: datetime) -> QuerySet[PaperOrder]:
    return PaperOrder.objects.filter(
        status__in=OPEN_STATUSES,
        time_in_force=TimeInForce.GOOD_TILL_TIME_EXCHANGE,
        expire_time__lte=now,
    )


def _expire(market: PaperMarket, now: datetime) -> None:
    for order in _expirable(now).filter(symbol=market.symbol):
        ledger.close(order, EXPIRED, now)


def order_cancel(
    account_key: str,
    *,
    client_order_id: str | None = None,
    exchange_order_id: str | None = None,
    now: datetime | None = None,
) -> PaperOrder:
    """Cancel an open order; Rejected(UNKNOWN_ORDER) when there is none such, or it is closed."""
    now = now or timezone.now()
    account = account_get(account_key)
    found = _order_find(account, client_order_id, exchange_order_id)
    if found is None or not found.is_open:
        raise Rejected(UNKNOWN_ORDER)
    with transaction.atomic():
        _lock_market(found.symbol, now)
        ledger.lock_accounts([account.pk])
        order = PaperOrder.objects.get(pk=found.pk)  # as it is now, under the locks
        if not order.is_open:
            raise Rejected(UNKNOWN_ORDER)
        ledger.close(order, CANCELED_BY_USER, now)
    return order


def _order_find(
    account: PaperAccount, client_order_id: str | None, exchange_order_id: str | None
) -> PaperOrder | None:
    orders = account.orders.all()
    if exchange_order_id:
        pk = pk_from_exchange_order_id(exchange_order_id)
        return orders.filter(pk=pk).first() if pk is not None else None
    if client_order_id:
        return orders.filter(client_order_id=client_order_id).first()
    return None


def orders_cancel_all(account_key: str, now: datetime | None = None) -> list[PaperOrder]:
    canceled = []
    for order in orders_open(account_key):
        with contextlib.suppress(Rejected):  # it filled or was canceled meanwhile
            canceled.append(
                order_cancel(account_key, exchange_order_id=order.exchange_order_id, now=now)
            )
    return canceled


def order_lookup(account_key: str, client_order_id: str) -> PaperOrder | None:
    return (
        account_get(account_key)
        .orders.filter(client_order_id=client_order_id)
        .prefetch_related("trades")
        .first()
    )


def orders_open(account_key: str) -> list[PaperOrder]:
    """The account's open orders, oldest first, with the trades of those that traded: a
    prefetch costs Django a queryset per order it is asked for, traded or not, and a sync reads
    every resting order each cycle."""
    orders = account_get(account_key).orders.filter(status__in=OPEN_STATUSES)
    orders = list(orders.order_by("created_at", "pk"))
    prefetch_related_objects([order for order in orders if order.filled], "trades")
    return orders


def trades_since(account_key: str, cursor: str | None) -> tuple[list[PaperTrade], str | None]:
    """The account's trades after the cursor (a trade id; None or "" for all), oldest first,
    and the cursor to pass next time."""
    trades = PaperTrade.objects.filter(order__account=account_get(account_key))
    if cursor:
        trades = trades.filter(pk__gt=int(cursor))
    trades = list(trades.select_related("order").order_by("pk"))
    return trades, str(trades[-1].pk) if trades else cursor


# --- Derivatives -------------------------------------------------------------------------------


def positions_get(account_key: str) -> list[Marked]:
    """The account's derivative positions (flat ones too: they keep leverage and margin mode),
    each marked at its market's mid, cross ones sharing their asset's pool
    (venues.paper.marks)."""
    account = account_get(account_key)
    mids = {symbol: market.mid for symbol, market in markets_get().items()}
    wallets = {balance.asset: balance for balance in account.balances.all()}
    return positions_marked(list(account.positions.order_by("symbol")), mids, wallets)


def leverage_set(
    account_key: str, symbol: str, leverage: Decimal, *, cross: bool, now: datetime | None = None
) -> PaperPosition:
    """Set an account's leverage (1 to 100) and margin mode on a derivative market."""
    now = now or timezone.now()
    definition = market_def(symbol)
    if not definition.is_derivative:
        raise Rejected(UNKNOWN_PAIR)
    if definition.expired(now):
        raise Rejected(EXPIRED_MARKET.format(symbol=symbol, at=definition.expires_at))
    account = account_get(account_key)
    with transaction.atomic():
        _lock_market(symbol, now)
        ledger.lock_accounts([account.pk])
        return derivatives.leverage_set(account.pk, symbol, Decimal(leverage), cross)
