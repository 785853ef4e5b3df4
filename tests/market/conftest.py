import json
from decimal import Decimal

import pytest

from emsweb.redis import redis_client
from market import interest
from market.wire import PREFIX
from orders.instruments import instruments_refresh
from tests.factories import AccountFactory
from tests.stream.live import WebServer
from tests.venues.conftest import ccxt_settings, fake  # noqa: F401 - the ccxt tests' fixtures
from venues.paper import engine


def forget_market_data() -> None:
    client = redis_client()
    for key in client.scan_iter(f"{PREFIX}:*"):
        client.delete(key)


@pytest.fixture(autouse=True)
def no_market_data_left():
    """Rolled-back tests give their ids out again: no interest, book or claim is inherited."""
    forget_market_data()
    yield
    forget_market_data()


def on_screen(account, symbol: str) -> None:
    """A screen somewhere shows this account and instrument."""
    client = redis_client()
    client.zadd(interest.WATCH_KEY, {interest.member(account.pk, symbol): 4e9})


class Listener:
    """A Redis subscriber to some channels, as a web process is (market.hub)."""

    def __init__(self, *channels: str):
        self.pubsub = redis_client().pubsub()
        self.pubsub.subscribe(*channels)

    def messages(self) -> list[dict]:
        """What was published since the last call (all of it: Redis delivers in order)."""
        found = []
        while (message := self.pubsub.get_message(timeout=0.2)) is not None:
            if message["type"] == "message":
                found.append(json.loads(message["data"]))
        return found

    def close(self) -> None:
        self.pubsub.close()


# --- a real web server, a signed-in user and a paper account on a screen --------------------


@pytest.fixture
def web_server(transactional_db):
    server = WebServer("market", env={"EMSWEB_MARKET_STALE_AFTER": "2"})
    yield server
    server.stop()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("screen-user", password="screen-password-1")


@pytest.fixture
def account(transactional_db, settings):
    settings.EMSWEB_MARKET_BOOK_EVERY = 0.001
    settings.EMSWEB_MARKET_CANDLES_EVERY = 0.001
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal(50000))
    return AccountFactory()
