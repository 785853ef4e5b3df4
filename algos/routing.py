"""Across accounts: which of a parent's accounts takes a slice.

Each account that trades the parent's instrument (the same base and quote) is asked for its
touch; those its state, balance or risk limits rule out are set aside with the reason; the best
price for the side wins, a smaller amount if that is all its balance allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounts.models import ExchangeAccount
from accounts.services import account_venue
from orders.funds import balance_available
from orders.models import Instrument
from orders.money import round_amount
from risk.check import Attempt, RiskRefused, risk_check
from risk.rules import trading_halted
from venues.base import OrdSide
from venues.errors import VenueError

from .models import ParentOrder


@dataclass(frozen=True)
class Candidate:
    account: ExchangeAccount
    instrument: Instrument
    bid: Decimal | None
    ask: Decimal | None

    def far_touch(self, side: str) -> Decimal | None:
        """The price a taker of `side` meets: the best ask for a buy."""
        return self.ask if side == OrdSide.BUY else self.bid

    def near_touch(self, side: str) -> Decimal | None:
        return self.bid if side == OrdSide.BUY else self.ask


@dataclass(frozen=True)
class Choice:
    candidate: Candidate
    amount: Decimal


class NoRoute(Exception):
    """No account may take the slice; the message says why for each."""


def instrument_for(account: ExchangeAccount, parent: ParentOrder) -> Instrument | None:
    return Instrument.objects.filter(
        venue=account.venue, base=parent.base, quote=parent.quote, active=True
    ).first()


def candidates(parent: ParentOrder) -> tuple[list[Candidate], list[str]]:
    """The parent's accounts that may trade now, with their touch; and why the others may not.
    Calls venues: never inside a transaction."""
    found, reasons = [], []
    for account in sorted(parent.accounts.all(), key=lambda account: account.pk):
        instrument = instrument_for(account, parent)
        refusal = account.trading_refusal or trading_halted(account_id=account.pk)
        if instrument is None:
            refusal = f"{account.venue} has no {parent.base}/{parent.quote} market."
        if refusal:
            reasons.append(f"{account.exchange_id}: {refusal}")
            continue
        try:
            book = account_venue(account=account).book(instrument.symbol_id_exchange, 1)
        except VenueError as problem:
            reasons.append(f"{account.exchange_id}: no book ({problem})")
            continue
        bid = book.bids[0][0] if book.bids else None
        ask = book.asks[0][0] if book.asks else None
        found.append(Candidate(account, instrument, bid, ask))
    return found, reasons


def capacity(candidate: Candidate, side: str, price: Decimal) -> Decimal:
    """How much of the base this account's available balance pays for at `price`."""
    instrument = candidate.instrument
    asset = instrument.quote if side == OrdSide.BUY else instrument.base
    available = balance_available(account=candidate.account, asset=asset) or Decimal(0)
    amount = available / price if side == OrdSide.BUY else available
    return max(Decimal(0), round_amount(amount, lot=instrument.lot_size))


def choose(
    parent: ParentOrder,
    found: list[Candidate],
    amount: Decimal,
    price_of,
    user,
) -> Choice:
    """The best-priced account for the side that can take some of `amount`; NoRoute if none.
    `price_of(candidate)`: the child's limit price there (None: no price to trade at)."""
    reasons = []
    ranked = []
    for candidate in found:
        price = price_of(candidate)
        if price is None:
            reasons.append(f"{candidate.account.exchange_id}: no price on its book")
            continue
        room = min(amount, capacity(candidate, parent.side, price))
        if room <= 0:
            reasons.append(f"{candidate.account.exchange_id}: insufficient available balance")
            continue
        attempt = Attempt(candidate.account, user, candidate.instrument, parent.side, room, price)
        try:
            risk_check(attempt)
        except RiskRefused as refused:
            messages = "; ".join(r.message for r in refused.refusals)
            reasons.append(f"{candidate.account.exchange_id}: {messages}")
            continue
        touch = candidate.far_touch(parent.side) or price
        ranked.append((touch, candidate, room))
    if not ranked:
        raise NoRoute("; ".join(reasons) or "No account to trade on.")
    best = (
        min(ranked, key=lambda item: item[0])
        if parent.side == OrdSide.BUY
        else max(ranked, key=lambda item: item[0])
    )
    return Choice(best[1], best[2])
