"""The hub's once-a-second check of its position against the table."""

import asyncio

from stream import hub as hub_module
from stream.hub import Hub


def run(coroutine):
    return asyncio.run(coroutine)


def test_events_delivered_while_the_check_reads_do_not_look_like_a_table_gone_back(monkeypatch):
    async def scenario():
        hub = Hub()
        hub.last_seq = 10
        subscription_ended = []

        async def read(function, *args, **kwargs):
            # The table said 10 when read; meanwhile a pass committed 11 and delivered it.
            hub.last_seq = 11
            return 10

        monkeypatch.setattr(hub, "read", read)
        monkeypatch.setattr(hub, "_restart_at", subscription_ended.append)
        await hub.check_position()
        return subscription_ended

    assert run(scenario()) == []


def test_a_table_behind_what_was_delivered_before_the_read_starts_again(monkeypatch):
    async def scenario():
        hub = Hub()
        hub.last_seq = 10
        restarted = []

        async def read(function, *args, **kwargs):
            assert function is hub_module.latest_seq
            return 7  # a database restored from an earlier backup

        monkeypatch.setattr(hub, "read", read)
        monkeypatch.setattr(hub, "_restart_at", restarted.append)
        await hub.check_position()
        return restarted

    assert run(scenario()) == [7]
