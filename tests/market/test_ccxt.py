"""A ccxt venue's book and candles: the exchange's documented answers, read in Decimal, at the
lowest priority of the shared budget (never ahead of an order, a cancel or a sync)."""

from decimal import Decimal

import pytest

from accounts.credentials import Credentials
from tests.venues.scripts.kraken import Kraken, ok
from venues.ccxt import connection
from venues.ccxt.limits import Budget, Gate, Throttled
from venues.registry import adapter_class

D = Decimal

# Kraken's GET /0/public/Depth and /0/public/OHLC, as its documentation shows them.
DEPTH = ok(
    {
        "XXBTZUSD": {
            "asks": [
                ["100000.1", "0.500", 1688671834],
                ["99999.9", "1.250", 1688671830],
                ["100010.0", "3.000", 1688671820],
            ],
            "bids": [
                ["99999.8", "0.750", 1688671834],
                ["100000.0", "0", 1688671800],
                ["9999.5", "2.000", 1688671811],
            ],
        }
    }
)
OHLC = ok(
    {
        "XXBTZUSD": [
            [1688671200, "30306.1", "30306.2", "30305.7", "30305.7", "30306.1", "3.39243896", 23],
            [1688671260, "30305.7", "30305.7", "30300.0", "30300.0", "30301.5", "0.50000000", 4],
        ],
        "last": 1688671200,
    }
)


@pytest.fixture
def public(fake):
    Kraken().markets(fake)
    venue = adapter_class("KRAKEN")(account_key="", credentials=Credentials({}))
    venue._markets()  # loaded before the tests spend the budget
    return venue


def test_the_book_is_read_from_the_exchanges_depth_in_decimal_best_first(fake, public):
    fake.on("GET", "/0/public/Depth", DEPTH)
    book = public.book("XXBTZUSD", 10)
    [sent] = fake.requests_to("/0/public/Depth")
    assert sent.query == {"pair": "XXBTZUSD", "count": "20"}
    # Sorted as numbers (ccxt sorts the exchange's strings as text); an empty level left out.
    assert book.bids == ((D("99999.8"), D("0.750")), (D("9999.5"), D("2.000")))
    assert book.asks[0] == (D("99999.9"), D("1.250"))
    assert [price for price, _ in book.asks] == [D("99999.9"), D("100000.1"), D("100010.0")]


def test_candles_are_the_exchanges_ohlc_oldest_first_in_decimal(fake, public):
    fake.on("GET", "/0/public/OHLC", OHLC)
    candles = public.candles("XXBTZUSD", "1m", 300)
    [sent] = fake.requests_to("/0/public/OHLC")
    assert sent.query["pair"] == "XXBTZUSD" and sent.query["interval"] == "1"
    first, second = candles
    assert (first.start, first.open, first.high, first.low, first.close, first.volume) == (
        1688671200,
        D("30306.1"),
        D("30306.2"),
        D("30305.7"),
        D("30305.7"),
        D("3.39243896"),
    )
    assert second.start == 1688671260


@pytest.fixture
def short_budget(ccxt_settings):
    """Kraken's public budget at 10 units (1 a second, 10 s of burst): an order's call leaves
    2.5 of it, market data 5."""
    ccxt_settings.EMSWEB_CCXT_BURST_SECONDS = 10.0
    ccxt_settings.EMSWEB_CCXT_CANCEL_RESERVE = 0.25
    ccxt_settings.EMSWEB_CCXT_MARKET_DATA_RESERVE = 0.5
    return ccxt_settings


def spend_public_budget(public, units: float) -> None:
    """Another worker's calls on the exchange's public budget took `units` of it."""
    scope = public._public().gate.budget.scope
    gate = Gate(Budget(scope, rate=0.001, capacity=10.0), venue="Kraken")
    gate.cancel_first = True
    with gate.turn(units):
        pass


def test_market_data_is_not_read_when_it_would_eat_into_what_other_calls_need(
    short_budget, fake, public
):
    Kraken().balance(fake)  # answers the ticker
    fake.on("GET", "/0/public/Depth", DEPTH)
    spend_public_budget(public, 6)  # 4 left: below market data's reserve of 5 + 1
    with pytest.raises(Throttled, match="budget"):
        public.book("XXBTZUSD", 10)
    with pytest.raises(Throttled):
        public.candles("XXBTZUSD", "1m", 300)
    assert not fake.requests_to("/0/public/Depth") and not fake.requests_to("/0/public/OHLC")
    # A sync's call on the same budget (the USD rates' tickers) still goes: 4 >= 2.5 + 1.
    assert public.quotes()
    assert len(fake.requests_to("/0/public/Ticker")) == 1


def test_market_data_gives_up_at_once_during_a_back_off_where_other_calls_would_wait(
    short_budget, fake, public
):
    fake.on("GET", "/0/public/Depth", DEPTH)
    short_budget.EMSWEB_CCXT_BACKOFF_BASE = short_budget.EMSWEB_CCXT_BACKOFF_MAX = 0.5
    public._public().gate.back_off()
    with pytest.raises(Throttled, match="backing off"):
        public.book("XXBTZUSD", 10)
    assert not fake.requests_to("/0/public/Depth")


def test_market_data_uses_an_instance_of_its_own_that_reads_strings(fake, public):
    fake.on("GET", "/0/public/Depth", DEPTH)
    public.book("XXBTZUSD", 10)
    data = connection.market_data_connection(public.profile, False)
    assert data is not public._public() and data.gate.market_data
    assert data.gate.budget.scope == public._public().gate.budget.scope
    assert data.exchange.number is str
