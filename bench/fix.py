"""The FIX gateway as production runs it (`manage.py fix_gateway`, through deploy/entrypoint.sh),
beside the REST API in the same run: NewOrderSingle (35=D) to its ExecutionReport with ExecType 0
(new: the venue has the order), from a QuickFIX initiator in the harness on one logged-on FIX 4.4
session, one order at a time; and POST /v1/orders (it answers once routing has an outcome) with
the same orders on gunicorn. Each beside its floor, measured here: for FIX a TestRequest (35=1)
to its Heartbeat (35=0), which crosses the gateway's front and its QuickFIX acceptor and nothing
else; for REST the constant JSON view (bench/urls.py). Latencies are the harness's: sent to
received, the initiator's parsing included, as a desk's OMS sees them."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import quickfix

from accounts.models import DeskRole
from accounts.services import api_key_create
from fix.config import SPEC
from fix.translate import timestamp

from . import fixtures, stack
from .api import order_body
from .client import timed
from .report import Figure
from .stats import summary

ORDERS = 300
TEST_REQUESTS = 1000
CONSTANT = 1000
WARM_UP = 5
WAIT = 30.0  # seconds for one answer before the benchmark fails
SIDES = {"BUY": "1", "SELL": "2"}


class Desk(quickfix.Application):
    """The initiator's application: the key in the Logon's Password (554), and the moment each
    awaited answer arrived (an order's first ExecutionReport, a Heartbeat's TestReqID)."""

    def __init__(self, key: str):
        super().__init__()
        self.key = key
        self.session_id = None
        self.logged_on = threading.Event()
        self.arrived: dict[str, tuple[float, str]] = {}
        self.condition = threading.Condition()

    def onCreate(self, session_id):
        self.session_id = session_id

    def onLogon(self, session_id):
        self.logged_on.set()

    def onLogout(self, session_id):
        self.logged_on.clear()

    def toAdmin(self, message, session_id):
        if message.getHeader().getField(35) == "A":
            message.setField(quickfix.StringField(554, self.key))

    def fromAdmin(self, message, session_id):
        if message.getHeader().getField(35) == "0" and message.isSetField(112):
            self._arrived(f"test:{message.getField(112)}", "heartbeat")

    def toApp(self, message, session_id):
        pass

    def fromApp(self, message, session_id):
        if message.getHeader().getField(35) == "8" and message.isSetField(11):
            text = message.getField(58) if message.isSetField(58) else ""
            self._arrived(message.getField(11), f"{message.getField(150)} {text}".strip())

    def _arrived(self, name: str, what: str) -> None:
        moment = time.perf_counter()
        with self.condition:
            self.arrived.setdefault(name, (moment, what))
            self.condition.notify_all()

    def wait(self, name: str) -> tuple[float, str]:
        with self.condition:
            if not self.condition.wait_for(lambda: name in self.arrived, WAIT):
                raise TimeoutError(f"no answer to {name} from the FIX gateway in {WAIT:g} s")
            return self.arrived[name]


def initiator_settings(*, port: int, sender: str, directory: Path) -> str:
    return (
        "[DEFAULT]\nConnectionType=initiator\nSocketConnectHost=127.0.0.1\n"
        f"SocketConnectPort={port}\nReconnectInterval=1\nHeartBtInt=30\n"
        "StartTime=00:00:00\nEndTime=00:00:00\n"
        f"FileStorePath={directory / 'store'}\nFileLogPath={directory / 'log'}\n"
        "ResetOnLogon=Y\nResetOnLogout=Y\nResetOnDisconnect=Y\nSocketNodelay=Y\n"
        f"UseDataDictionary=Y\nDataDictionary={SPEC / 'FIX44.xml'}\n"
        f"\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID={sender}\nTargetCompID=EMSWEB\n"
    )


class Initiator:
    def __init__(self, *, port: int, key: str, sender: str, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "initiator.cfg"
        path.write_text(initiator_settings(port=port, sender=sender, directory=directory))
        self.desk = Desk(key)
        settings = quickfix.SessionSettings(str(path))
        self.engine = quickfix.SocketInitiator(
            self.desk,
            quickfix.FileStoreFactory(settings),
            settings,
            quickfix.FileLogFactory(settings),
        )
        self.engine.start()
        if not self.desk.logged_on.wait(WAIT):
            self.engine.stop()
            raise TimeoutError("the bench's initiator did not log on to the FIX gateway")

    def send(self, msg_type: str, fields: dict[int, str]) -> float:
        """Send; the moment just before, for the latency."""
        message = quickfix.Message()
        header = message.getHeader()
        header.setField(quickfix.BeginString("FIX.4.4"))
        header.setField(quickfix.MsgType(msg_type))
        for tag, value in fields.items():
            message.setField(quickfix.StringField(tag, value))
        sent = time.perf_counter()
        if not quickfix.Session.sendToTarget(message, self.desk.session_id):
            raise RuntimeError(f"the initiator could not send {msg_type}")
        return sent

    def stop(self) -> None:
        self.engine.stop()


def new_order(exchange_id: str, client_order_id: str, n: int) -> dict[int, str]:
    symbol, side, price, amount = fixtures.RESTING[n % len(fixtures.RESTING)]
    return {
        11: client_order_id, 100: exchange_id, 55: symbol, 54: SIDES[side], 60: timestamp(),
        38: amount, 40: "2", 44: price, 59: "1",
    }  # fmt: skip


def orders_timed(initiator: Initiator, exchange_id: str, prefix: str, count: int) -> list[float]:
    latencies = []
    for n in range(-WARM_UP, count):
        client_order_id = f"{prefix}-{n + WARM_UP}"
        sent = initiator.send("D", new_order(exchange_id, client_order_id, n))
        arrived, what = initiator.desk.wait(client_order_id)
        if not what.startswith("0"):
            raise RuntimeError(f"{client_order_id}: ExecType {what}, not 0 (new)")
        if n >= 0:
            latencies.append((arrived - sent) * 1000)
    return latencies


def test_requests_timed(initiator: Initiator, prefix: str, count: int) -> list[float]:
    latencies = []
    for n in range(-WARM_UP, count):
        name = f"{prefix}-{n + WARM_UP}"
        sent = initiator.send("1", {112: name})
        arrived, _ = initiator.desk.wait(f"test:{name}")
        if n >= 0:
            latencies.append((arrived - sent) * 1000)
    return latencies


def gateway_start(ctx) -> tuple[int, Path]:
    port = stack.free_port()
    directory = stack.WORK / "fix"
    shutil.rmtree(directory, ignore_errors=True)  # a fresh store: no earlier run's sessions
    ctx.stack.start(
        "fix",
        EMSWEB_FIX_PORT=str(port),
        EMSWEB_FIX_HOST="127.0.0.1",
        EMSWEB_FIX_DIR=str(directory),
    )

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    stack.wait_until("the FIX gateway", listening, timeout=60, stack=ctx.stack, every=0.2)
    return port, directory


def run(ctx) -> list[Figure]:
    user = ctx.trading_user(f"bench-fix-{ctx.run}", DeskRole.ADMIN)
    api_key, key = api_key_create(user=user, label="bench-fix")
    fix_port, directory = gateway_start(ctx)
    initiator = Initiator(
        port=fix_port, key=key, sender=api_key.fix_sender, directory=directory / "initiator"
    )
    count = ctx.n(ORDERS)
    try:
        floor = test_requests_timed(initiator, f"{ctx.run}-test", ctx.n(TEST_REQUESTS))
        account = ctx.paper_account(f"FIX-{ctx.run}")
        orders = orders_timed(initiator, account.exchange_id, f"{ctx.run}-fix", count)
        fixtures.retire([account])
    finally:
        initiator.stop()
        ctx.stack.stop("fix")

    headers = {"X-CoinAPI-Key": key}
    account = ctx.paper_account(f"FIXREST-{ctx.run}")

    def constant(k, n):
        return "GET", "/bench/constant", None

    def post(k, n):
        client_order_id = f"{ctx.run}-fixrest-{k}-{n}"
        return "POST", "/v1/orders", order_body(account.exchange_id, client_order_id, n)

    constant_view = timed(ctx.port, headers, 1, ctx.n(CONSTANT), constant)
    rest = timed(ctx.port, headers, 1, count, post)
    fixtures.retire([account])

    stats = {
        "NewOrderSingle→ExecutionReport (New)": summary(orders),
        "TestRequest→Heartbeat": summary(floor),
        "POST /v1/orders": summary(rest),
        "constant view": summary(constant_view),
    }
    ctx.details["fix"] = {
        "gateway": "manage.py fix_gateway (deploy/entrypoint.sh fix), FIX.4.4, 1 session",
        "server": "gunicorn, deploy/gunicorn.conf.py",
        "latency_ms": stats,
    }
    figures = []
    for name, floor_name in (
        ("NewOrderSingle→ExecutionReport (New)", "TestRequest→Heartbeat"),
        ("POST /v1/orders", "constant view"),
    ):
        for percentile in ("p50", "p99"):
            figures.append(
                Figure(
                    bench="fix",
                    name=f"{name}, 1 client {percentile}",
                    value=stats[name][percentile],
                    unit="ms",
                    floor=stats[floor_name][percentile],
                    floor_name=f"{floor_name} {percentile}",
                    note=f"{stats[name]['n']} orders",
                )
            )
    return figures
