from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.money import NotADecimal, parse_decimal, round_amount, round_price

steps = st.sampled_from(
    [Decimal(s) for s in ("1", "0.5", "0.1", "0.01", "0.00001", "0.0001", "25")]
)
amounts = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1e9"), places=8)


@pytest.mark.fault(20, "random prices and ticks (hypothesis)")
@given(price=amounts, tick=steps)
def test_a_buy_price_never_rounds_above_the_limit_and_a_sell_never_below(price, tick):
    buy = round_price(price, tick=tick, side="BUY")
    sell = round_price(price, tick=tick, side="SELL")
    assert buy <= price <= sell
    assert buy % tick == 0 and sell % tick == 0
    assert price - buy < tick and sell - price < tick


@pytest.mark.fault(20, "random amounts and lots (hypothesis)")
@given(amount=amounts, lot=steps)
def test_an_amount_never_rounds_up(amount, lot):
    rounded = round_amount(amount, lot=lot)
    assert rounded <= amount
    assert rounded % lot == 0
    assert amount - rounded < lot


def test_float_damage_rounds_to_the_intended_value():
    assert round_amount(Decimal("0.30000000000000004"), lot=Decimal("0.1")) == Decimal("0.3")
    assert round_price(Decimal("1.005"), tick=Decimal("0.01"), side="BUY") == Decimal("1.00")
    assert round_price(Decimal("1.005"), tick=Decimal("0.01"), side="SELL") == Decimal("1.01")


@pytest.mark.fault(20, "floats, NaN, Infinity, 1e400")
@pytest.mark.parametrize("value", [0.1, "NaN", "Infinity", "-inf", "1e400", "abc", "", True, None])
def test_floats_and_non_finite_values_are_not_money(value):
    with pytest.raises(NotADecimal):
        parse_decimal(value)


def test_exact_decimals_parse_exactly():
    assert parse_decimal("0.11") == Decimal("0.11")
    assert parse_decimal("5e-15") == Decimal("5E-15")
    assert parse_decimal(100) == Decimal(100)
