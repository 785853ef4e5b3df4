"""Redis hands a PUBLISH to the subscribers of every database on its server: each pub/sub
channel of emsweb's carries its database's number, so two desks on one server (or a desk and a
test run) never hear each other."""

import pytest

from emsweb import redis as emsweb_redis
from market.wire import Feed, account_channel
from stream.outbox import POKE_CHANNEL
from stream.sequencer import EVENTS_CHANNEL


@pytest.fixture
def redis_url(settings):
    def use(url: str) -> None:
        settings.REDIS_URL = url
        emsweb_redis.redis_client.cache_clear()
        emsweb_redis._database_number.cache_clear()

    yield use
    emsweb_redis.redis_client.cache_clear()
    emsweb_redis._database_number.cache_clear()


def test_a_channel_names_the_database_of_redis_url(redis_url):
    redis_url("redis://127.0.0.1:6379/7")
    seven = emsweb_redis.pubsub_channel("emsweb:stream:events")
    redis_url("redis://127.0.0.1:6379/8")
    assert seven == "emsweb:stream:events@7"
    assert emsweb_redis.pubsub_channel("emsweb:stream:events") == "emsweb:stream:events@8"
    redis_url("redis://127.0.0.1:6379")
    assert emsweb_redis.pubsub_channel("x") == "x@0"


def test_every_channel_of_the_stream_and_the_market_carries_it():
    database = emsweb_redis._database_number()
    channels = (
        EVENTS_CHANNEL,
        POKE_CHANNEL,
        Feed("PAPER", False, "BTCUSD").channel,
        account_channel(1),
    )
    assert all(channel.endswith(f"@{database}") for channel in channels)
