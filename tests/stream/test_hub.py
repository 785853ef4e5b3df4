"""The hub's once-a-second check of its position against the table."""

import asyncio

from stream import hub as hub_module
from stream.hub import Hub, Subscription
from stream.reader import Event


def run(coroutine):
    return asyncio.run(coroutine)


def recording_fan_out(hub: Hub, delivered: list[int]):
    """The hub's fan-out with no subscriptions: what it delivers, in order."""

    def fan_out(event: Event) -> None:
        delivered.append(event.seq)
        hub.last_seq = event.seq

    return fan_out


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


def test_a_waiting_connection_is_written_at_once_and_a_full_one_gets_its_events_in_order():
    """Subscription.direct: while the connection's task waits, the fan-out writes the event
    itself; when the connection cannot take it (its client is not reading), the event is
    queued, and the connection's task sends it and those after it, in order, each once."""

    async def scenario():
        hub = Hub()
        subscription = Subscription(hub, since=0, buffer=10)
        hub._subscriptions.add(subscription)
        written, taking = [], [True]

        def direct(message: str) -> bool:
            if taking[0]:
                written.append(message)
            return taking[0]

        subscription.direct = direct
        pumped = []

        async def pump():
            while (event := await subscription.next()) is not None:
                pumped.append(event.seq)

        task = asyncio.create_task(pump())
        await asyncio.sleep(0)  # the pump waits
        hub._fan_out(Event(1, "ORDER", 1, '{"seq": 1}'))
        taking[0] = False
        hub._fan_out(Event(2, "ORDER", 1, '{"seq": 2}'))
        taking[0] = True
        hub._fan_out(Event(3, "ORDER", 1, '{"seq": 3}'))  # the pump is not waiting yet
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        hub._fan_out(Event(4, "ORDER", 1, '{"seq": 4}'))  # waiting again, nothing queued
        task.cancel()
        return written, pumped, subscription.last_seq

    assert run(scenario()) == (['{"seq": 1}', '{"seq": 4}'], [2, 3], 4)


def test_a_direct_write_that_fails_leaves_the_event_to_the_connection_and_the_others_served():
    async def scenario():
        hub = Hub()
        broken, healthy = (
            Subscription(hub, since=0, buffer=10),
            Subscription(hub, since=0, buffer=10),
        )
        written = []

        def fails(message: str) -> bool:
            raise OSError("the transport is gone")

        def writes(message: str) -> bool:
            written.append(message)
            return True

        broken.direct, healthy.direct = fails, writes
        hub._subscriptions.update({broken, healthy})
        waits = [asyncio.create_task(s.next()) for s in (broken, healthy)]
        await asyncio.sleep(0)
        hub._fan_out(Event(1, "ORDER", 1, '{"seq": 1}'))
        pumped = await waits[0]
        waits[1].cancel()
        return pumped.seq, written, broken.direct

    assert run(scenario()) == (1, ['{"seq": 1}'], None)


def test_an_event_published_before_the_one_it_follows_waits_for_it_and_both_go_in_order(
    monkeypatch,
):
    """Two writers' publishes crossing: the later seq waits, and no table read is needed."""

    async def scenario():
        hub = Hub()
        hub.last_seq = 10
        delivered, reads = [], []
        monkeypatch.setattr(hub, "_fan_out", recording_fan_out(hub, delivered))

        async def read(function, *args, **kwargs):
            reads.append(args)
            return []

        monkeypatch.setattr(hub, "read", read)
        await hub.deliver([Event(12, "order", 1, "{}")])
        assert delivered == []
        await hub.deliver([Event(11, "order", 1, "{}")])
        await asyncio.sleep(hub_module.GAP_WAIT * 2)
        return delivered, reads

    assert run(scenario()) == ([11, 12], [])


def test_an_event_whose_predecessor_is_never_published_gets_it_read_from_the_table(monkeypatch):
    """A writer killed between its commit and its publish: after GAP_WAIT the hub reads the gap
    from the table, then delivers what waited, in order, each once."""

    async def scenario():
        hub = Hub()
        hub.last_seq = 10
        delivered = []
        monkeypatch.setattr(hub, "_fan_out", recording_fan_out(hub, delivered))

        async def read(function, since, **kwargs):
            assert function is hub_module.events_since and since == 10
            return [Event(11, "order", 1, "{}"), Event(12, "order", 1, "{}")]

        monkeypatch.setattr(hub, "read", read)
        await hub.deliver([Event(12, "order", 1, "{}"), Event(13, "order", 1, "{}")])
        assert delivered == []
        await asyncio.sleep(hub_module.GAP_WAIT * 3)
        return delivered

    assert run(scenario()) == [11, 12, 13]
