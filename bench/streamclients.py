"""The stream benchmark's other processes: its `websockets` clients of /v1/ws, and a bare Redis
subscriber (the floor's, which also notes when the stream's batches are published). No Django
here; bench/stream.py starts them and drives them.

    python -m bench.streamclients clients PORT     (the API key in BENCH_STREAM_KEY)
    python -m bench.streamclients subscriber CHANNEL EVENTS_CHANNEL    (REDIS_URL)

The clients are asyncio tasks on one event loop (uvloop), one connection each, as a script
would hold one. The harness sends a command per line on stdin, as JSON, and reads one JSON line
back (see `COMMANDS`). Each client notes when (time.time(), comparable with the harness's
clock on the same machine) each update's seq and each SERVER_INFO heartbeat arrived; it reads
only the seq at the head of a message (`{"seq":N,...`), never parsing the JSON, so that the
clients' own work stays small beside the server's.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

OPENING = 50  # connections opened at once
SEQ_HEAD = '{"seq":'


class Client:
    """One connection, and what arrived on it."""

    def __init__(self):
        self.ws = None
        self.task: asyncio.Task | None = None
        self.updates: list[tuple[int, float]] = []  # (seq, received at)
        self.beats: list[float] = []  # SERVER_INFO heartbeats, received at
        self.last_seq = 0
        self.closed_code: int | None = None  # set when the server closed it

    async def read(self) -> None:
        try:
            async for text in self.ws:
                now = time.time()
                if text.startswith(SEQ_HEAD):
                    seq = int(text[len(SEQ_HEAD) : text.index(",", len(SEQ_HEAD))])
                    self.updates.append((seq, now))
                    self.last_seq = max(self.last_seq, seq)
                elif "SERVER_INFO" in text[:40]:
                    self.beats.append(now)
        except Exception:  # noqa: BLE001 - the close code below says what happened
            pass
        self.closed_code = self.ws.close_code if self.ws.close_code is not None else -1


class Clients:
    """The open connections, oldest first."""

    def __init__(self, port: int, key: str):
        self.url = f"ws://127.0.0.1:{port}/v1/ws"
        self.key = key
        self.open: list[Client] = []
        self.closed: list[Client] = []  # closed by the server (or the network) meanwhile

    async def _open_one(self, since: int) -> Client:
        from websockets.asyncio.client import connect

        client = Client()
        client.ws = await connect(
            f"{self.url}?since={since}",
            additional_headers={"X-CoinAPI-Key": self.key},
            compression=None,
            proxy=None,
            open_timeout=60,
            # Idle as a script between its own pings; the server pings every minute.
            ping_interval=None,
            max_size=2**20,
        )
        client.task = asyncio.create_task(client.read())
        return client

    async def do_open(self, count: int, since: int) -> dict:
        began = time.perf_counter()
        gate = asyncio.Semaphore(OPENING)
        errors: list[str] = []

        async def one() -> None:
            async with gate:
                try:
                    self.open.append(await self._open_one(since))
                except Exception as error:  # noqa: BLE001 - counted and reported
                    errors.append(f"{type(error).__name__}: {error}")

        await asyncio.gather(*(one() for _ in range(count)))
        return {
            "open": len(self.open),
            "failed": len(errors),
            "errors": sorted(set(errors))[:5],
            "seconds": time.perf_counter() - began,
        }

    async def do_keep(self, count: int) -> dict:
        """Close all but the `count` oldest connections."""
        leaving, self.open = self.open[count:], self.open[:count]
        await asyncio.gather(*(client.ws.close() for client in leaving), return_exceptions=True)
        return {"open": len(self.open)}

    async def do_wait(self, seq: int, timeout: float) -> dict:
        """Until every open connection has received `seq` (or `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._sort_closed()
            if all(client.last_seq >= seq for client in self.open):
                break
            await asyncio.sleep(0.05)
        return {"behind": sum(client.last_seq < seq for client in self.open)}

    async def do_collect(self, path: str) -> dict:
        """Write what arrived on each connection to `path` and forget it."""
        self._sort_closed()
        document = {
            "updates": [client.updates for client in self.open],
            "beats": [client.beats for client in self.open],
            "closed": [client.closed_code for client in self.closed],
        }
        with open(path, "w") as file:
            json.dump(document, file)
        for client in self.open:
            client.updates, client.beats = [], []
        self.closed = []
        return {"open": len(self.open)}

    def _sort_closed(self) -> None:
        self.closed += [client for client in self.open if client.closed_code is not None]
        self.open = [client for client in self.open if client.closed_code is None]


COMMANDS = {
    "open": Clients.do_open,  # {"count": n, "since": seq} -> open, failed, errors, seconds
    "keep": Clients.do_keep,  # {"count": n} -> open
    "wait": Clients.do_wait,  # {"seq": s, "timeout": t} -> behind
    "collect": Clients.do_collect,  # {"path": p} -> open
}


async def serve_clients(port: int) -> None:
    clients = Clients(port, os.environ["BENCH_STREAM_KEY"])
    loop = asyncio.get_running_loop()
    print(json.dumps({"ready": True}), flush=True)
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command = json.loads(line)
        name = command.pop("do")
        if name == "quit":
            break
        reply = await COMMANDS[name](clients, **command)
        print(json.dumps(reply), flush=True)
    await clients.do_keep(0)


def serve_subscriber(channel: str, events_channel: str) -> None:
    """Subscribe to `channel` (the floor's) and `events_channel` (the stream's batches), say so,
    then note when each message arrives, until "stop" on `channel`; print {"floor": [[k,
    sent_at, received_at], ...] of the floor's messages ("k sent_at"), "published": [[seq,
    received_at], ...] of the stream's events}."""
    import redis

    pubsub = redis.Redis.from_url(os.environ["REDIS_URL"]).pubsub()
    pubsub.subscribe(channel, events_channel)
    confirmed = 0
    while confirmed < 2:
        message = pubsub.get_message(timeout=10)
        confirmed += message is not None and message["type"] == "subscribe"
    print(json.dumps({"ready": True}), flush=True)
    floor, published = [], []
    events = events_channel.encode()
    for message in pubsub.listen():
        now = time.time()
        if message["type"] != "message":
            continue
        if message["channel"] == events:
            for line in message["data"].split(b"\n"):
                if line:
                    published.append((int(line.split(b"\t", 1)[0]), now))
            continue
        if message["data"] == b"stop":
            break
        k, sent_at = message["data"].split()
        floor.append((int(k), float(sent_at), now))
    print(json.dumps({"floor": floor, "published": published}), flush=True)


def main(argv: list[str]) -> None:
    mode, *arguments = argv
    if mode == "subscriber":
        serve_subscriber(*arguments)
        return
    [argument] = arguments
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve_clients(int(argument)))
    else:
        uvloop.run(serve_clients(int(argument)))


if __name__ == "__main__":
    main(sys.argv[1:])
