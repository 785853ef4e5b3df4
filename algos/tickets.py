"""A parent as asked for, and its checks: parent_start refuses a ticket naming each bad field."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from accounts.models import ExchangeAccount
from orders.instruments import instrument_find
from orders.models import Instrument
from venues.base import OrdSide

from .models import Algorithm, ChildStyle, EndPolicy, ParentOrder
from .routing import instrument_for

DEFAULT_SLIPPAGE = Decimal("0.005")


class ParentInvalid(Exception):
    """Field name -> messages. Nothing was written."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class ParentNotChangeable(Exception):
    """The parent is not in a status that allows the change asked for."""


@dataclass(frozen=True)
class ParentTicket:
    """A parent as asked for, checked by parent_start."""

    algorithm: str
    side: str
    symbol: str
    amount: Decimal
    accounts: tuple[ExchangeAccount, ...]
    duration_seconds: int = 0
    interval_seconds: int = 0
    limit_price: Decimal | None = None
    slippage: Decimal = DEFAULT_SLIPPAGE
    jitter: Decimal = Decimal(0)
    child_style: str = ChildStyle.IOC
    end_policy: str = EndPolicy.LEAVE
    display_amount: Decimal | None = None
    participation: Decimal | None = None
    profile: tuple[Decimal, ...] = field(default_factory=tuple)


def ticket_check(ticket: ParentTicket) -> Instrument:
    """The ticket's instrument, if every field is good and every account trades it (the same
    base and quote); ParentInvalid naming each bad field otherwise."""
    errors: dict[str, list[str]] = {}

    def error(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if ticket.algorithm not in Algorithm.values:
        error("Algorithm", "Algorithm must be TWAP, VWAP or ICEBERG.")
    if ticket.side not in OrdSide.values:
        error("side", "side must be BUY or SELL.")
    if ticket.amount is None or ticket.amount <= 0:
        error("amount", "amount must be greater than zero.")
    if not ticket.accounts:
        error("Exchanges", "Name at least one account this key may trade.")
    if ticket.algorithm == Algorithm.ICEBERG:
        if ticket.limit_price is None:
            error("limit_price", "An iceberg rests at a price: give limit_price.")
        if ticket.display_amount is None or ticket.display_amount <= 0:
            error("display_amount", "An iceberg needs a display_amount greater than zero.")
    elif ticket.algorithm in Algorithm.values:
        if ticket.duration_seconds <= 0:
            error("duration", "Give a duration such as 10MIN.")
        if ticket.interval_seconds <= 0:
            error("interval", "Give an interval such as 30SEC.")
        elif ticket.duration_seconds and ticket.interval_seconds > ticket.duration_seconds:
            error("interval", "The interval is longer than the duration.")
    if ticket.limit_price is not None and ticket.limit_price <= 0:
        error("limit_price", "limit_price must be greater than zero.")
    if not Decimal(0) <= ticket.slippage < 1:
        error("slippage", "slippage is a fraction from 0 to 1 (0.005 is 0.5 %).")
    if not Decimal(0) <= ticket.jitter <= 1:
        error("jitter", "jitter is a fraction from 0 to 1.")
    if ticket.participation is not None and not Decimal(0) < ticket.participation <= 1:
        error("participation", "participation is a fraction above 0, at most 1.")
    if ticket.child_style not in ChildStyle.values:
        error("child_style", f"child_style is one of {', '.join(ChildStyle.values)}.")
    if ticket.end_policy not in EndPolicy.values:
        error("end_policy", f"end_policy is one of {', '.join(EndPolicy.values)}.")
    instrument = None
    for account in ticket.accounts:
        if refusal := account.trading_refusal:
            error("Exchanges", refusal)
        found = _instrument_named(account, ticket.symbol)
        if found is None:
            error("symbol", f"Unknown instrument {ticket.symbol!r} at {account.venue}.")
        elif instrument is not None and (found.base, found.quote) != (
            instrument.base,
            instrument.quote,
        ):
            error("Exchanges", "The accounts must trade the same base and quote.")
        instrument = instrument or found
    if errors or instrument is None:
        raise ParentInvalid(errors or {"symbol": ["Unknown instrument."]})
    return instrument


def _instrument_named(account: ExchangeAccount, symbol: str):
    """The account's market named `symbol` (its own or the coinapi name, or BASE/QUOTE)."""
    found = instrument_find(venue=account.venue, symbol=symbol)
    if found is None and "/" in symbol:
        base, quote = symbol.upper().split("/", 1)
        probe = ParentOrder(base=base, quote=quote)
        found = instrument_for(account, probe)
    return found
