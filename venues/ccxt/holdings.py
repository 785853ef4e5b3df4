"""What an account holds, and what it is worth: balances from ccxt's balance structure, USD
rates and the ticket's quotes from the exchange's own tickers."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from venues.base import VenueBalance

from .convert import ZERO, dec

Quote = tuple[Decimal | None, Decimal | None, Decimal | None]


def balances(raw: dict, currencies: dict, rates: dict[str, Decimal]) -> list[VenueBalance]:
    """Every asset held or free, by the exchange's own id (XXBT) and the common one (BTC)."""
    totals, free, used = (raw.get(key) or {} for key in ("total", "free", "used"))
    held = {code: dec(total) or ZERO for code, total in totals.items()}
    held = {code: total for code, total in held.items() if total or dec(free.get(code))}
    rows = []
    for code, total in sorted(held.items()):
        available, locked = dec(free.get(code)), dec(used.get(code))
        if available is None:
            available = total - (locked or ZERO)
        if locked is None:
            locked = total - available
        rows.append(
            VenueBalance(
                asset=str((currencies.get(code) or {}).get("id") or code),
                balance=total,
                available=available,
                locked=locked,
                rate_usd=rates.get(code),
                asset_common=code,
            )
        )
    return rows


def usd_rates(codes: Iterable[str], tickers: dict) -> dict[str, Decimal]:
    """USD per unit of each asset with an X/USD market; none for the rest (no route)."""
    rates = {"USD": Decimal(1)}
    for code in codes:
        price = ticker_price(tickers.get(f"{code}/USD") or {})
        if code != "USD" and price is not None:
            rates[code] = price
    return rates


def quotes(spot: dict[str, dict], tickers: dict) -> dict[str, Quote]:
    """Best bid, best ask and last per spot market, by the exchange's symbol."""
    by_symbol = {market["symbol"]: symbol_id for symbol_id, market in spot.items()}
    return {
        by_symbol[symbol]: (
            dec(ticker.get("bid")),
            dec(ticker.get("ask")),
            dec(ticker.get("last")) or dec(ticker.get("close")),
        )
        for symbol, ticker in tickers.items()
        if symbol in by_symbol
    }


def ticker_price(ticker: dict) -> Decimal | None:
    last = dec(ticker.get("last")) or dec(ticker.get("close"))
    if last:
        return last
    bid, ask = dec(ticker.get("bid")), dec(ticker.get("ask"))
    return (bid + ask) / 2 if bid and ask else None
