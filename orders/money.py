"""Decimal money: parsing, and rounding to an instrument's tick and lot on the safe side.

The rules, explicitly:
- a BUY price rounds DOWN to the tick and a SELL price rounds UP, so the desk never pays more or
  receives less than the limit it gave;
- an amount rounds DOWN to the lot, so the desk never trades more than it asked for.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation, localcontext

from venues.base import OrdSide

# DecimalField(max_digits=38, decimal_places=18): 20 digits before the point.
MAX_VALUE = Decimal(10) ** 20


class NotADecimal(ValueError):
    pass


def parse_decimal(value: object) -> Decimal:
    """A finite Decimal from a string, an int or a Decimal. Floats are refused: they are damaged."""
    if isinstance(value, (bool, float)):
        raise NotADecimal("must be a decimal number written as a string or JSON number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise NotADecimal("must be a number") from None
    if not number.is_finite():
        raise NotADecimal("must be a finite number")
    if abs(number) >= MAX_VALUE:
        raise NotADecimal("is too large")
    return number


def quantize_to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """`value` as a whole number of `step`s, rounded as told, written with the step's places."""
    with localcontext(prec=80):  # 38 stored digits, and room to divide by a tiny step
        steps = (value / step).to_integral_value(rounding=rounding)
        return (steps * step).quantize(step) if step.as_tuple().exponent < 0 else steps * step


def round_price(price: Decimal, *, tick: Decimal, side: str) -> Decimal:
    rounding = ROUND_FLOOR if side == OrdSide.BUY else ROUND_CEILING
    return quantize_to_step(price, tick, rounding)


def round_amount(amount: Decimal, *, lot: Decimal) -> Decimal:
    return quantize_to_step(amount, lot, ROUND_FLOOR)


def plain(value: Decimal) -> str:
    """A number for people: 10, not 1E+1; 0.00001, not 0.000010000000000000."""
    return format(value.normalize(), "f")


PRESET_PERCENTS = (25, 50, 100)


def amount_presets(
    *, side: str, available: Decimal | None, price: Decimal | None, lot: Decimal
) -> list[tuple[int, str]]:
    """The ticket's amount presets: (percent, amount) for 25, 50 and 100 % of what is available
    for the side (a buy spends the quote asset at `price`, a sell the base asset), each rounded
    down to the lot so that 100 % never asks for more than there is, written plainly. None
    while the balance or a buy's price is unknown."""
    if available is None or available <= 0:
        return []
    if side == OrdSide.BUY:
        if price is None or price <= 0:
            return []
        available = available / price
    return [
        (percent, plain(amount))
        for percent in PRESET_PERCENTS
        if (amount := round_amount(available * percent / 100, lot=lot)) > 0
    ]
