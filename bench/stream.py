"""The event stream on the web port (gunicorn's uvicorn workers, as production runs them): from
the lifecycle's commit to a `websockets` client's receipt of the order's update on /v1/ws, with
1, 100 and 1,000 connected clients, beside a bare Redis publish-to-subscriber (redis-py, the
same Redis) measured in the same run; the server's memory per idle connection; and whether the
idle connections stay open, each with its SERVER_INFO every second.

The changes are status changes the harness makes through the lifecycle (orders.lifecycle.
transition: NEW -> PENDING_CANCEL and back) on resting orders of an account of its own, at a
steady EVENT_RATE, each in one statement that commits at once as the order path's do; the
moment of each is taken when that statement returns, its COMMIT done (a Django execute_wrapper
around the transition), before anything the writer does after it. The clients
(bench.streamclients) are asyncio tasks on an event loop in each of CLIENT_PROCESSES other
processes, on the same 2 cores as the server: their own reading is in the figures. They open
with ?since=<the latest seq>, as a client resuming does, so no snapshot is read on open. The
connections are opened once: first held idle (memory, heartbeats, the server's CPU), then
the changes with all of them, then with 100 of them, then with 1.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.db import connection

from accounts.models import DeskRole, ExchangeAccount
from emsweb.redis import pubsub_channel, redis_client
from orders.lifecycle import transition
from orders.models import EventCause, Order
from stream.models import EventKind, StreamEvent
from stream.reader import latest_seq
from stream.sequencer import EVENTS_CHANNEL
from venues.base import OrdStatus

from . import fixtures, stack
from .report import Figure
from .stack import CpuMeter, wait_until
from .stats import summary

CLIENTS = (1, 100, 1000)
IDLE = 1000  # the idle connections opened (and the most clients measured)
EVENT_RATE = 10.0  # order changes per second
EVENTS = 300  # per client count
ORDERS = 30  # resting orders the changes go round
FLOOR_MESSAGES = 300
FLOOR_WARM_UP = 20
HOLD = 10.0  # seconds the idle connections are held, heartbeats counted
SETTLE = 3.0  # seconds after opening before the server's memory is read
BEAT_GAP = 2.0  # a connection whose SERVER_INFOs came further apart than this has lost them
FLOOR_CHANNEL = pubsub_channel("bench:stream:floor")
CLIENT_PROCESSES = 2
TARGET_OVER_FLOOR_P50 = 5.0
TARGET_P99 = 50.0
S = OrdStatus


class ClientsProcess:
    """bench.streamclients in clients mode: one JSON command a line, one JSON answer."""

    def __init__(self, ctx, key: str, number: int):
        self.log = stack.WORK / f"streamclients-{number}.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.streamclients", "clients", str(ctx.port)],
                cwd=stack.ROOT,
                env={**ctx.stack.env, "BENCH_STREAM_KEY": key},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )

    def send(self, do: str, **arguments) -> None:
        self.process.stdin.write(json.dumps({"do": do, **arguments}) + "\n")
        self.process.stdin.flush()

    def read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            log = self.log.read_text(errors="replace")
            raise RuntimeError(f"the stream clients exited:\n{log[-3000:]}")
        return json.loads(line)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError, RuntimeError, ValueError):
                self.send("quit")
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Clients:
    """The clients, spread over CLIENT_PROCESSES processes (as many as the server's workers),
    each command sent to all of them at once and their answers added up."""

    def __init__(self, ctx, key: str):
        self.processes = [ClientsProcess(ctx, key, n) for n in range(CLIENT_PROCESSES)]
        try:
            for process in self.processes:
                process.read()  # ready
        except Exception:
            self.stop()
            raise

    def _shares(self, count: int) -> list[int]:
        many = len(self.processes)
        return [count // many + (n < count % many) for n in range(many)]

    def _each(self, do: str, arguments: list[dict]) -> list[dict]:
        for process, given in zip(self.processes, arguments, strict=True):
            process.send(do, **given)
        return [process.read() for process in self.processes]

    def open(self, count: int, since: int) -> dict:
        answers = self._each("open", [{"count": n, "since": since} for n in self._shares(count)])
        return {
            "open": sum(answer["open"] for answer in answers),
            "failed": sum(answer["failed"] for answer in answers),
            "errors": sorted({error for answer in answers for error in answer["errors"]}),
            "seconds": max(answer["seconds"] for answer in answers),
        }

    def keep(self, count: int) -> int:
        answers = self._each("keep", [{"count": n} for n in self._shares(count)])
        return sum(answer["open"] for answer in answers)

    def wait(self, seq: int, timeout: float) -> int:
        """How many connections had not received `seq` after `timeout` seconds."""
        answers = self._each("wait", [{"seq": seq, "timeout": timeout}] * len(self.processes))
        return sum(answer["behind"] for answer in answers)

    def collect(self) -> dict:
        """What arrived on each connection since the last collect (and which were closed)."""
        with tempfile.TemporaryDirectory(dir=stack.WORK) as folder:
            paths = [str(Path(folder) / f"{n}.json") for n in range(len(self.processes))]
            self._each("collect", [{"path": path} for path in paths])
            parts = [json.loads(Path(path).read_text()) for path in paths]
        return {key: [item for part in parts for item in part[key]] for key in parts[0]}

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


class Subscriber:
    """bench.streamclients in subscriber mode, for the whole benchmark: the floor's messages,
    and when each of the stream's events was published (EVENTS_CHANNEL)."""

    def __init__(self, env: dict[str, str]):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.streamclients", "subscriber"]
            + [FLOOR_CHANNEL, EVENTS_CHANNEL],
            cwd=stack.ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.process.stdout.readline()  # subscribed

    def send_floor(self, count: int, rate: float) -> None:
        """A bare redis-py PUBLISH from this process at `rate` per second, "k sent_at", sent_at
        taken just before the PUBLISH."""
        client = redis_client()
        for k in range(-FLOOR_WARM_UP, 0):  # not counted
            client.publish(FLOOR_CHANNEL, f"{k} {time.time():.6f}")
        began = time.perf_counter()
        for k in range(count):
            pause = began + k / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            client.publish(FLOOR_CHANNEL, f"{k} {time.time():.6f}")

    def finish(self) -> tuple[list[float], dict[int, float]]:
        """The floor's latencies (ms), and when each seq was published (epoch seconds)."""
        try:
            redis_client().publish(FLOOR_CHANNEL, "stop")
            received = json.loads(self.process.communicate(timeout=60)[0])
        finally:
            self.stop()
        floor = [(now - sent) * 1000 for k, sent, now in received["floor"] if k >= 0]
        return floor, dict(received["published"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def resting_orders(ctx) -> tuple[ExchangeAccount, list[int]]:
    """An account of this benchmark's with resting orders, NEW at the venue, then disabled so
    that no sync touches them while the harness moves them."""
    account = ctx.paper_account(f"STREAM-{ctx.run}")
    ids = fixtures.submit_many(account, f"{ctx.run}-stream", ctx.n(ORDERS, least=5), ctx.trader)
    ExchangeAccount.objects.filter(pk=account.pk).update(enabled=False)
    fixtures.broker_idle()
    resting = Order.objects.filter(pk__in=ids, status=S.NEW).values_list("pk", flat=True)
    return account, list(resting)


def change(order_id: int, to: str) -> tuple[float, int] | None:
    """One lifecycle transition, as the order path makes it (one statement, committed at once):
    when it committed (epoch seconds) and its outbox row's id."""
    back = S.PENDING_CANCEL if to == S.NEW else S.NEW
    returned: list[float] = []

    def noted(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        returned.append(time.time())
        return result

    # The transition's first statement is its write, which has committed when it returns.
    with connection.execute_wrapper(noted):
        moved = transition(order_id, to=to, cause=EventCause.CANCEL, allowed_from={back})
    if not moved:
        return None
    row = (
        StreamEvent.objects.filter(kind=EventKind.ORDER, ref_id=order_id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return returned[0], row


def changes_made(order_ids: list[int], count: int, rate: float) -> list[tuple[float, int]]:
    """`count` transitions at `rate` per second, round the orders (each to PENDING_CANCEL, then
    back to NEW): (committed at, outbox row id) of each that moved."""
    made = []
    began = time.perf_counter()
    for n in range(count):
        pause = began + n / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        order_id = order_ids[(n // 2) % len(order_ids)]
        outcome = change(order_id, S.PENDING_CANCEL if n % 2 == 0 else S.NEW)
        if outcome is not None:
            made.append(outcome)
    if count % 2:  # leave every order NEW
        change(order_ids[(count // 2) % len(order_ids)], S.NEW)
    return made


def receipt_latencies(made: list[tuple[float, int]], received: dict) -> dict:
    """Commit-to-receipt of each change at each client, ms; what no client received is counted.
    Also each change's (commit, seq), for commit-to-publish once the subscriber has finished."""
    seqs = dict(
        StreamEvent.objects.filter(pk__in=[row for _, row in made]).values_list("id", "seq")
    )
    latencies, missed, spreads, committed_seqs = [], 0, [], []
    arrivals = [dict(updates) for updates in received["updates"]]
    for committed, row in made:
        seq = seqs.get(row)
        committed_seqs.append((committed, seq))
        times = [client[seq] for client in arrivals if seq in client]
        missed += len(arrivals) - len(times)
        latencies += [(at - committed) * 1000 for at in times]
        if times:
            spreads.append((max(times) - min(times)) * 1000)
    return {
        "latency_ms": summary(latencies) if latencies else None,
        "missed": missed,
        "first_to_last_client_ms": summary(spreads) if spreads else None,
        "closed_by_server": received["closed"],
        "committed_seqs": committed_seqs,
    }


def commit_to_publish(measured: dict, published: dict[int, float]) -> dict | None:
    """Commit to the sequencer's publish of each change (the stream's part before the hub's
    fan-out), ms, from the subscriber's notes; the pairs it came from are dropped."""
    spans = [
        (published[seq] - committed) * 1000
        for committed, seq in measured.pop("committed_seqs")
        if seq in published
    ]
    return summary(spans) if spans else None


def measure_events(ctx, clients: Clients, order_ids: list[int], count: int) -> dict:
    clients.collect()  # forget what came before
    with CpuMeter(ctx.stack) as cpu:
        made = changes_made(order_ids, ctx.n(EVENTS, least=20), EVENT_RATE)
        wait_until(
            "the stream to number the bench's changes",
            lambda: not StreamEvent.objects.filter(seq__isnull=True).exists(),
            timeout=30,
        )
        behind = clients.wait(latest_seq(), timeout=30)
    measured = receipt_latencies(made, clients.collect())
    if measured["latency_ms"] is None:
        raise RuntimeError(f"no client received any of {len(made)} changes ({count} clients)")
    return {
        "clients": count,
        "changes": len(made),
        "rate_per_s": EVENT_RATE,
        "clients_behind_at_the_end": behind,
        "cores_used": cpu.cores_used(),
        **measured,
    }


def server_memory(ctx) -> dict[str, int]:
    """The web server's processes (gunicorn's and its workers): RSS and USS in bytes, summed."""
    rss = uss = 0
    for process in ctx.stack.services["web"].tree():
        info = process.memory_full_info()
        rss, uss = rss + info.rss, uss + info.uss
    return {"rss": rss, "uss": uss}


def connections_per_worker(ctx) -> list[int]:
    """Connections to the web port held open by each web worker process."""
    _, *workers = ctx.stack.services["web"].tree()
    return [
        sum(
            c.status == "ESTABLISHED" and c.laddr.port == ctx.port
            for c in worker.net_connections(kind="tcp")
        )
        for worker in workers
    ]


def beat_gaps(beats: list[float], start: float, end: float) -> list[float]:
    """The gaps between heartbeats over [start, end], its edges included, in seconds."""
    inside = [at for at in beats if start <= at <= end]
    edges = [start, *inside, end]
    return [later - earlier for earlier, later in zip(edges, edges[1:], strict=False)]


def hold_idle(ctx, clients: Clients, count: int) -> dict:
    """Open `count` idle connections: the server's memory before and after, then `HOLD` seconds
    of heartbeats and the server's CPU meanwhile."""
    clients.open(len(clients.processes), latest_seq())  # the first connections' imports, pools
    clients.keep(0)
    time.sleep(SETTLE)
    before = server_memory(ctx)
    opened = clients.open(count, latest_seq())
    time.sleep(SETTLE)
    after = server_memory(ctx)
    per_worker = connections_per_worker(ctx)
    clients.collect()
    with CpuMeter(ctx.stack) as cpu:
        start = time.time()
        time.sleep(HOLD)
        end = time.time()
    received = clients.collect()
    gaps = [beat_gaps(beats, start, end) for beats in received["beats"]]
    beating = sum(max(each) <= BEAT_GAP for each in gaps)
    held = len(received["beats"])
    return {
        "opened": opened["open"],
        "failed": opened["failed"],
        "errors": opened["errors"],
        "open_seconds": round(opened["seconds"], 2),
        "held": held,
        "with_heartbeats": beating,
        "closed_by_server": received["closed"],
        "heartbeat_gap_ms": summary([gap * 1000 for each in gaps for gap in each])
        if gaps
        else None,
        "server_memory_before": before,
        "server_memory_after": after,
        "connections_per_worker": per_worker,
        "hold_seconds": HOLD,
        "cores_used": cpu.cores_used(),
    }


def run(ctx) -> list[Figure]:
    counts = sorted(
        {ctx.n(CLIENTS[0], least=1), ctx.n(CLIENTS[1], least=5), ctx.n(CLIENTS[2], least=10)}
    )
    idle = ctx.n(IDLE, least=10)
    account, order_ids = resting_orders(ctx)
    viewer = ctx.trading_user(f"bench-stream-{ctx.run}", DeskRole.VIEWER)
    subscriber = Subscriber(ctx.stack.env)
    clients = None
    try:
        subscriber.send_floor(ctx.n(FLOOR_MESSAGES, least=50), EVENT_RATE)
        clients = Clients(ctx, fixtures.api_key(viewer))
        held = hold_idle(ctx, clients, idle)
        events = {}
        for wanted in sorted(counts, reverse=True):
            count = clients.keep(wanted)  # fewer, if some were closed
            events[count] = measure_events(ctx, clients, order_ids, count)
        floor, published = subscriber.finish()
    finally:
        subscriber.stop()
        if clients is not None:
            clients.stop()
        fixtures.retire([account])
    floor_summary = summary(floor)
    for measured in events.values():
        measured["commit_to_publish_ms"] = commit_to_publish(measured, published)
    ctx.details["stream"] = {
        "server": "gunicorn, deploy/gunicorn.conf.py (uvicorn workers, emsweb.asgi)",
        "clients": f"asyncio tasks on a uvloop event loop in each of {CLIENT_PROCESSES} processes "
        "(bench.streamclients)",
        "floor_redis_publish_to_subscriber_ms": floor_summary,
        "idle": held,
        "events": events,
    }
    return figures(floor_summary, held, events, idle)


def figures(floor_summary: dict, held: dict, events: dict, idle: int) -> list[Figure]:
    result = []
    middle = sorted(events)[len(events) // 2] if len(events) > 1 else None
    for count, measured in sorted(events.items()):
        stats = measured["latency_ms"]
        clients = f"{count:,} client{'' if count == 1 else 's'}"
        note = f"{stats['n']} receipts of {measured['changes']} changes at {EVENT_RATE:g}/s"
        if measured["missed"]:
            note += f"; {measured['missed']} NOT received"
        if measured["commit_to_publish_ms"]:
            published = measured["commit_to_publish_ms"]
            note += f"; commit→publish p50 {published['p50']:.1f} ms, p99 {published['p99']:.1f}"
        targeted = count == middle
        for key in ("p50", "p99"):
            result.append(
                Figure(
                    bench="stream",
                    name=f"commit→client receipt, {clients} {key}",
                    value=stats[key],
                    unit="ms",
                    floor=floor_summary[key],
                    floor_name=f"Redis publish→subscriber {key}",
                    target=("<=", TARGET_P99) if targeted and key == "p99" else None,
                    target_over_floor=("<=", TARGET_OVER_FLOOR_P50)
                    if targeted and key == "p50"
                    else None,
                    note=note,
                )
            )
    grown = held["server_memory_after"]["rss"] - held["server_memory_before"]["rss"]
    result += [
        Figure(
            bench="stream",
            name=f"memory per idle connection ({held['opened']:,} open), server RSS",
            value=grown / max(held["opened"], 1) / 1024,
            unit="KiB",
            note=f"web processes' RSS {held['server_memory_before']['rss'] / 2**20:.0f} → "
            f"{held['server_memory_after']['rss'] / 2**20:.0f} MiB",
        ),
        Figure(
            bench="stream",
            name=f"idle connections held, SERVER_INFO each second (of {idle:,})",
            value=held["with_heartbeats"],
            unit="connections",
            target=(">=", idle),
            note=f"{held['opened']:,} opened, {held['held']:,} open after {HOLD:g} s, "
            f"{held['with_heartbeats']:,} never {BEAT_GAP:g} s without a SERVER_INFO",
        ),
        Figure(
            bench="stream",
            name=f"SERVER_INFO gap, {held['held']:,} idle connections, max",
            value=(held["heartbeat_gap_ms"] or {"max": HOLD * 1000})["max"],
            unit="ms",
            note="sent every 1,000 ms",
        ),
        Figure(
            bench="stream",
            name=f"web server CPU holding {held['held']:,} idle connections",
            value=held["cores_used"].get("web", 0.0),
            unit="cores",
        ),
    ]
    return result
