"""ccxt's unified structures into the venue boundary's dataclasses, in Decimal.

An account's exchange instance parses with `number = str` (connection.py), so order, trade and
balance numbers arrive as the exchange's own decimal strings. Market values (ticks, lots,
minimums) come from the public instance as floats and are read through their shortest repr,
which gives back the exchange's short decimal exactly; never through the float's binary value.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation, localcontext

from ccxt.base.decimal_to_precision import DECIMAL_PLACES, TICK_SIZE

from venues.base import (
    Candle,
    InstrumentKind,
    InstrumentSpec,
    MarketBook,
    OrderIntent,
    OrdSide,
    OrdStatus,
    TimeInForce,
    VenueFill,
    VenueOrder,
    VenuePosition,
)

ZERO = Decimal(0)
TIME_IN_FORCE = {
    "GTC": TimeInForce.GOOD_TILL_CANCEL,
    "PO": TimeInForce.GOOD_TILL_CANCEL,
    "IOC": TimeInForce.IMMEDIATE_OR_CANCEL,
    "FOK": TimeInForce.FILL_OR_KILL,
    "GTD": TimeInForce.GOOD_TILL_TIME_EXCHANGE,
}


def dec(value: object) -> Decimal | None:
    """A finite Decimal, or None. Floats go through repr, which is the shortest exact form."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


# --- rounding: the same rules as orders.money, kept here so venues never import orders ---------


def to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    with localcontext(prec=80):
        steps = (value / step).to_integral_value(rounding=rounding)
        result = steps * step
        return result.quantize(step) if step.as_tuple().exponent < 0 else result


def round_price(price: Decimal, *, tick: Decimal, side: str) -> Decimal:
    """A BUY rounds down and a SELL up: never pay more, never receive less than the limit."""
    return to_step(price, tick, ROUND_FLOOR if side == OrdSide.BUY else ROUND_CEILING)


def round_amount(amount: Decimal, *, lot: Decimal) -> Decimal:
    """Down to the lot: never trade more than asked."""
    return to_step(amount, lot, ROUND_FLOOR)


def plain(value: Decimal) -> str:
    """A decimal string without exponent: what is sent to the exchange."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- markets ----------------------------------------------------------------------------------


def step(precision: object, mode: int) -> Decimal | None:
    """A market precision as a step: a tick size as is, a number of decimal places as 10^-n."""
    value = dec(precision)
    if value is None or value <= 0:
        return None
    if mode == TICK_SIZE:
        return value
    if mode == DECIMAL_PLACES and value == value.to_integral_value():
        return Decimal(1).scaleb(-int(value))
    return None  # significant digits cannot be expressed as a step: not tradable here


def instrument_spec(market: dict, mode: int) -> InstrumentSpec | None:
    """The instrument a market is, or None when its tick or lot is not known (or a future's
    expiry). A contract's amounts are in contracts of `contract_size`, as ccxt's are."""
    precision = market.get("precision") or {}
    tick, lot = step(precision.get("price"), mode), step(precision.get("amount"), mode)
    if tick is None or lot is None or not market.get("base") or not market.get("quote"):
        return None
    limits = market.get("limits") or {}
    min_amount = dec((limits.get("amount") or {}).get("min")) or lot
    min_notional = dec((limits.get("cost") or {}).get("min")) or ZERO
    spec = InstrumentSpec(
        symbol_id_exchange=str(market["id"]),
        base=str(market["base"]),
        quote=str(market["quote"]),
        tick_size=tick,
        lot_size=lot,
        min_amount=max(min_amount, ZERO),
        min_notional=max(min_notional, ZERO),
    )
    if not market.get("contract"):
        return spec
    expiry = contract_expiry(market)
    if market.get("future") and expiry is None:
        return None  # a future is named by its expiry
    contract_size = dec(market.get("contractSize")) or Decimal(1)
    return replace(
        spec,
        kind=InstrumentKind.FUTURE if market.get("future") else InstrumentKind.PERPETUAL,
        inverse=bool(market.get("inverse")),
        contract_size=contract_size,
        settlement_asset=str(market.get("settle") or ""),
        expiry=expiry if market.get("future") else None,
        # An inverse contract's value is in the base: the quote minimum does not apply.
        min_notional=ZERO if market.get("inverse") else spec.min_notional,
    )


def contract_expiry(market: dict) -> date | None:
    expiry = dec(market.get("expiry"))
    if expiry is None or expiry <= 0:
        return None
    return datetime.fromtimestamp(float(expiry) / 1000, tz=UTC).date()


class NotTradable(ValueError):
    """The order does not fit the market's rules once rounded: refused before sending."""


def order_amounts(intent: OrderIntent, market: dict, mode: int) -> tuple[Decimal, Decimal]:
    """Amount and price rounded to the market's current steps toward the safe side, and
    checked against its limits."""
    spec = instrument_spec(market, mode)
    symbol = market.get("symbol")
    if spec is None:
        raise NotTradable(f"no tick and lot are known for {symbol}")
    price = round_price(intent.price, tick=spec.tick_size, side=intent.side)
    amount = round_amount(intent.amount, lot=spec.lot_size)
    limits = market.get("limits") or {}
    top = dec((limits.get("amount") or {}).get("max"))
    low = dec((limits.get("price") or {}).get("min"))
    high = dec((limits.get("price") or {}).get("max"))
    if price <= 0:
        problem = f"price {intent.price} is below one tick ({spec.tick_size})"
    elif amount <= 0 or amount < spec.min_amount:
        problem = f"amount {amount} is below the minimum {spec.min_amount}"
    elif amount * spec.contract_size * price < spec.min_notional:
        value = amount * spec.contract_size * price
        problem = f"value {value} is below the minimum {spec.min_notional} {spec.quote}"
    elif top and amount > top:
        problem = f"amount {amount} is above the maximum {top}"
    elif low and price < low:
        problem = f"price {price} is below the minimum {low}"
    elif high and price > high:
        problem = f"price {price} is above the maximum {high}"
    else:
        return amount, price
    raise NotTradable(f"{problem} for {symbol}")


# --- orders and trades ------------------------------------------------------------------------


def venue_status(order: dict, amount: Decimal, filled: Decimal) -> OrdStatus:
    """ccxt's unified status in the contract's words. Anything unknown is still working."""
    status = order.get("status")
    if status in ("canceled", "expired"):
        return OrdStatus.CANCELED
    if status == "rejected":
        return OrdStatus.REJECTED
    if status == "closed":
        # Closed without the whole amount is a cancel after partial fills, not a fill.
        return OrdStatus.CANCELED if amount and filled < amount else OrdStatus.FILLED
    return OrdStatus.PARTIALLY_FILLED if filled > 0 else OrdStatus.NEW


def venue_time(milliseconds: object) -> datetime:
    value = dec(milliseconds)
    if value is None:
        return datetime.now(tz=UTC)
    return datetime.fromtimestamp(float(value) / 1000, tz=UTC)


def venue_fill(trade: dict, *, client_order_id: str | None = None) -> VenueFill | None:
    """One trade of ours, or None when the exchange left out what a fill needs."""
    price, amount = dec(trade.get("price")), dec(trade.get("amount"))
    if not trade.get("id") or price is None or amount is None or not trade.get("order"):
        return None
    fee = trade.get("fee") or {}
    liquidity = {"maker": "MAKER", "taker": "TAKER"}.get(trade.get("takerOrMaker") or "", "")
    return VenueFill(
        trade_id=str(trade["id"]),
        client_order_id=client_order_id,
        exchange_order_id=str(trade["order"]),
        time=venue_time(trade.get("timestamp")),
        price=price,
        amount=amount,
        fee=dec(fee.get("cost")) or ZERO,
        fee_asset=str(fee.get("currency") or ""),
        liquidity=liquidity,
    )


class UnreadableOrder(ValueError):
    """The exchange's answer lacks what a report needs; never guessed at."""


def venue_order(
    order: dict,
    *,
    symbol_id_exchange: str,
    client_order_id: str | None,
    client_order_id_format_exchange: str,
    fallback: VenueOrder | None = None,
    trades: list[dict] | None = None,
) -> VenueOrder:
    """A ccxt order as a VenueOrder. `fallback` fills what the exchange's answer left out
    (an acknowledgement often carries only the id). A finished order whose filled amount is
    not known is UnreadableOrder: reporting it would close the order on a guess."""
    if not order.get("id"):
        raise UnreadableOrder("the answer has no order id")
    amount = dec(order.get("amount")) or (fallback.amount if fallback else ZERO)
    filled = dec(order.get("filled"))
    if filled is None:
        remaining = dec(order.get("remaining"))
        filled = amount - remaining if remaining is not None and amount else None
    if filled is None and order.get("status") in ("closed", "canceled", "expired"):
        raise UnreadableOrder(f"order {order['id']} is {order['status']} with no filled amount")
    filled = filled or ZERO
    price = dec(order.get("price")) or (fallback.price if fallback else ZERO)
    side = (order.get("side") or "").upper() or (fallback.side if fallback else "")
    if side not in OrdSide.values:
        raise UnreadableOrder(f"order {order['id']} has no side")
    raw_trades = trades if trades is not None else (order.get("trades") or [])
    fills = tuple(
        fill
        for fill in (venue_fill(trade, client_order_id=client_order_id) for trade in raw_trades)
        if fill is not None
    )
    time_in_force = TIME_IN_FORCE.get(order.get("timeInForce") or "")
    if time_in_force is None:
        time_in_force = fallback.time_in_force if fallback else TimeInForce.GOOD_TILL_CANCEL
    return VenueOrder(
        client_order_id=client_order_id,
        exchange_order_id=str(order["id"]),
        symbol_id_exchange=symbol_id_exchange,
        status=venue_status(order, amount, filled),
        side=OrdSide(side),
        amount=amount,
        price=price,
        amount_filled=filled,
        avg_px=dec(order.get("average")) or ZERO,
        client_order_id_format_exchange=client_order_id_format_exchange,
        time_in_force=time_in_force,
        fills=fills,
    )


# --- positions --------------------------------------------------------------------------------


def venue_position(raw: dict, *, symbol_id_exchange: str, settle: str) -> VenuePosition | None:
    """ccxt's position structure, signed (long above zero); None when it says no size or side.
    Zeros the exchange writes for what it does not know (a liquidation price) are None."""
    contracts = dec(raw.get("contracts"))
    side = raw.get("side")
    if contracts is None or (contracts and side not in ("long", "short")):
        return None
    size = -abs(contracts) if side == "short" else abs(contracts)
    leverage = dec(raw.get("leverage"))
    liquidation = dec(raw.get("liquidationPrice"))
    return VenuePosition(
        symbol_id_exchange=symbol_id_exchange,
        size=size,
        entry_price=dec(raw.get("entryPrice")) or ZERO,
        mark_price=dec(raw.get("markPrice")) or ZERO,
        unrealized_pnl=dec(raw.get("unrealizedPnl")) or ZERO,
        realized_pnl=dec(raw.get("realizedPnl")) or ZERO,
        margin=dec(raw.get("initialMargin")) or dec(raw.get("collateral")) or ZERO,
        maintenance_margin=dec(raw.get("maintenanceMargin")) or ZERO,
        leverage=leverage if leverage is not None and leverage >= 1 else Decimal(1),
        cross=raw.get("marginMode") == "cross",
        liquidation_price=liquidation if liquidation else None,
        settlement_asset=settle,
    )


def positions_merged(positions: list[VenuePosition]) -> list[VenuePosition]:
    """One position per instrument: an account in hedge mode holds a long and a short on the
    same contract, which the desk sees as their net."""
    merged: dict[str, VenuePosition] = {}
    for position in positions:
        held = merged.get(position.symbol_id_exchange)
        if held is None or not position.size:
            merged.setdefault(position.symbol_id_exchange, position)
            continue
        if not held.size:
            merged[position.symbol_id_exchange] = position
            continue
        merged[position.symbol_id_exchange] = replace(
            held,
            size=held.size + position.size,
            unrealized_pnl=held.unrealized_pnl + position.unrealized_pnl,
            realized_pnl=held.realized_pnl + position.realized_pnl,
            margin=held.margin + position.margin,
            maintenance_margin=held.maintenance_margin + position.maintenance_margin,
            liquidation_price=None,  # two legs: no single price
        )
    return list(merged.values())


# --- market data ------------------------------------------------------------------------------


def _levels(raw: object, depth: int, *, descending: bool) -> tuple[tuple[Decimal, Decimal], ...]:
    """Priced levels with a size, best first. Sorted here: ccxt sorted the strings as text."""
    levels = []
    for entry in raw if isinstance(raw, list) else []:
        price, size = dec(entry[0]), dec(entry[1]) if len(entry) > 1 else None
        if price is not None and price > 0 and size is not None and size > 0:
            levels.append((price, size))
    levels.sort(key=lambda level: level[0], reverse=descending)
    return tuple(levels[:depth])


def market_book(raw: dict, depth: int) -> MarketBook:
    """ccxt's order book structure, `depth` levels a side."""
    return MarketBook(
        bids=_levels(raw.get("bids"), depth, descending=True),
        asks=_levels(raw.get("asks"), depth, descending=False),
    )


def candles(raw: list) -> list[Candle]:
    """ccxt's OHLCV rows ([ms, open, high, low, close, volume]), oldest first; a row missing a
    price is left out, a missing volume is zero."""
    bars = {}
    for row in raw or []:
        if not isinstance(row, list | tuple) or len(row) < 5 or row[0] is None:
            continue
        prices = [dec(value) for value in row[1:5]]
        if any(price is None for price in prices):
            continue
        volume = (dec(row[5]) if len(row) > 5 else None) or ZERO
        start = int(row[0]) // 1000
        bars[start] = Candle(start, *prices, volume)
    return [bars[start] for start in sorted(bars)]
