"""`make run` as the desk's supervisor: each process it runs, killed with SIGKILL while orders
flow, is started again; the pages and the API keep answering; no order is lost or sent twice.
A launcher killed with SIGKILL takes its children with it, and the next one starts cleanly.

The launcher runs as `make run` runs it, on a data directory of its own (EMSWEB_VAR_DIR) and a
free port, with nothing else in its environment: a new desk. Its API key comes from manage.py,
run the same way, with nothing exported first.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.conftest import ROOT, wait_for
from tests.faults_table import note_verdict

pytestmark = [pytest.mark.pipeline]

ACCOUNT = "PAPER/DEMO"
SETTLED = {"NEW", "REJECTED"}  # REJECTED: claimed by a killed worker, never sent (#3)
INVARIANTS = (
    "from accounts.models import ExchangeAccount\n"
    "from orders.invariants import account_invariants_check\n"
    f"account = ExchangeAccount.objects.get(exchange_id={ACCOUNT!r})\n"
    "print('\\n'.join(account_invariants_check(account=account)) or 'hold')\n"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Desk:
    """`python -m emsweb.launcher run` on its own data and port, its combined log in a file."""

    def __init__(self, var: Path):
        self.var, self.port = var, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = var.parent / "launcher.log"
        self.env = {"PATH": os.environ["PATH"], "EMSWEB_VAR_DIR": str(var)}
        self.key = ""

    def start(self) -> None:
        settings = {
            "PORT": str(self.port),
            "DJANGO_SUPERUSER_PASSWORD": "a-desk-admin-password",
            # Markets that stay put (a BUY under the market stays NEW), and an order claimed by
            # a killed worker and never sent is declared so in seconds, not minutes.
            "EMSWEB_PAPER_TICK_SECONDS": "0",
            "EMSWEB_SWEEP_RECEIVED_AFTER": "2",
            "EMSWEB_RECONCILE_AFTER": "1",
            "EMSWEB_NEVER_PLACED_AFTER": "5",
        }
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "emsweb.launcher", "run"],
                cwd=ROOT,
                env={**self.env, **settings},
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
            )
        wait_for(self.serving, timeout=180, what=f"the desk to start: {self.log_path}")

    def serving(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the launcher exited: {self.log()[-3000:]}")
        return "beat started" in self.this_run() and answered(f"{self.url}/account/sign-in/")

    def stop(self) -> int:
        """Ctrl-C, and the launcher's exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        finally:
            for process in processes_in(self.groups()):  # whatever a failure left behind
                process.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def this_run(self) -> str:
        """The log of the latest launcher (each starts by announcing its address)."""
        return self.log().rsplit("system | emsweb: ", 1)[-1]

    def pid_of(self, name: str) -> int:
        return int(re.findall(rf"{name} (?:re)?started \(pid (\d+)\)", self.this_run())[-1])

    def groups(self) -> set[int]:
        """The process groups of the latest launcher's children (each leads its own)."""
        return {int(pid) for pid in re.findall(r"started \(pid (\d+)\)", self.this_run())}

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True
        )
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    def status(self, client_order_id: str) -> str:
        response = requests.get(
            f"{self.url}/v1/orders/status/{client_order_id}", headers=self.headers(), timeout=30
        )
        return response.json()["status"] if response.status_code == 200 else "unknown"

    def headers(self) -> dict[str, str]:
        return {"X-CoinAPI-Key": self.key}


def answered(url: str, headers: dict | None = None) -> bool:
    try:
        return requests.get(url, headers=headers, timeout=30).status_code == 200
    except requests.ConnectionError:
        return False


def processes_in(groups: set[int]) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) in groups:
                found.append(process)
        except ProcessLookupError:
            pass
    return found


class Loop(threading.Thread):
    """Does `step` every 0.2 s until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.2):
            self.step()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=120)
        assert not self.is_alive()


class Trader(Loop):
    """Places orders through /v1 one after the other. One that got no answer, or a 5xx, is sent
    again with the same client order id and body: the retry the API says is safe."""

    def __init__(self, desk: Desk, prefix: str):
        super().__init__()
        self.desk, self.numbers = desk, itertools.count()
        self.prefix = prefix
        self.placed: list[str] = []
        self.refused: list[str] = []

    def step(self) -> None:
        client_order_id = f"{self.prefix}-{next(self.numbers)}"
        order = {
            "exchange_id": ACCOUNT,
            "client_order_id": client_order_id,
            "symbol_id_coinapi": "PAPER_SPOT_BTC_USD",
            "amount_order": 0.001,
            "price": 40000,
            "side": "BUY",
            "order_type": "LIMIT",
            "time_in_force": "GOOD_TILL_CANCEL",
        }
        while True:
            try:
                response = requests.post(
                    f"{self.desk.url}/v1/orders",
                    json=order,
                    headers=self.desk.headers(),
                    timeout=30,
                )
            except requests.ConnectionError:
                time.sleep(0.2)
                continue
            if response.status_code < 500 or response.status_code == 504:  # 504: tracked
                break
            time.sleep(0.2)
        if response.status_code in (200, 504):
            self.placed.append(client_order_id)
        else:
            self.refused.append(f"{client_order_id}: {response.status_code} {response.text}")


class Prober(Loop):
    """Reads a page and the API all along. A dropped connection is tried again, twice at most:
    a killed web server's workers drop the connections they accepted and had not read yet (a
    connection is never refused: the launcher holds the listening socket)."""

    def __init__(self, desk: Desk):
        super().__init__()
        self.desk = desk
        self.dropped = 0
        self.unanswered: list[str] = []

    def step(self) -> None:
        for url, headers in (
            (f"{self.desk.url}/account/sign-in/", None),
            (f"{self.desk.url}/v1/balances", self.desk.headers()),
        ):
            self.read(url, headers)

    def read(self, url: str, headers: dict | None) -> None:
        for _ in range(3):
            try:
                status = requests.get(url, headers=headers, timeout=30).status_code
            except requests.ConnectionError:
                self.dropped += 1
                continue
            if status != 200:
                self.unanswered.append(f"{url}: {status}")
            return
        self.unanswered.append(f"{url}: dropped three times")


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    desk = Desk(tmp_path_factory.mktemp("desk") / "var")
    desk.start()
    try:
        desk.key = desk.manage("create_api_key", "admin").splitlines()[-1]
        assert answered(f"{desk.url}/v1/balances", desk.headers()), "the key does not work"
        yield desk
    finally:
        desk.stop()


def kill_while_orders_flow(desk: Desk, name: str) -> tuple[list[str], list[str]]:
    """SIGKILL `name`'s main process while orders flow and pages are read: the orders placed,
    and those of them placed once it was running again."""
    trader, prober = Trader(desk, f"{name}-killed"), Prober(desk)
    trader.start()
    prober.start()
    wait_for(lambda: len(trader.placed) >= 2, timeout=60, what="orders before the kill")
    restarted = desk.log().count(f"{name} restarted")
    os.kill(desk.pid_of(name), signal.SIGKILL)
    wait_for(lambda: desk.log().count(f"{name} restarted") > restarted, what=f"{name} restarted")
    placed = len(trader.placed) + 1  # the order on its way when the restart was logged
    wait_for(lambda: len(trader.placed) >= placed + 3, timeout=60, what="orders after it")
    trader.stop()
    prober.stop()

    assert f"{name} exited with code -9: restarting it in 1 s" in desk.log()
    assert prober.unanswered == []
    assert prober.dropped == 0 or name == "web"
    assert trader.refused == []
    return trader.placed, trader.placed[placed:]


def assert_each_settled_once(desk: Desk, placed: list[str], after_restart: list[str]) -> None:
    """Each order is known and settled (the venue has it, or it was never sent: a worker killed
    between claim and send), each reached the venue at most once, the database agrees with the
    venue (orders.invariants), and the orders placed after the restart are all NEW."""

    def settled() -> bool:
        return all(desk.status(client_order_id) in SETTLED for client_order_id in placed)

    wait_for(settled, timeout=60, what="every order placed to settle")
    verdict = desk.manage("shell", "--no-imports", "-c", INVARIANTS).strip()
    note_verdict("hold" if verdict == "hold" else f"{len(verdict.splitlines())} violated")
    assert verdict == "hold"
    assert {desk.status(client_order_id) for client_order_id in after_restart} == {"NEW"}


@pytest.mark.fault(12, "web, order worker, background worker or beat SIGKILLed under make run")
@pytest.mark.parametrize("name", ["web", "worker", "tasks", "beat"])
def test_a_desk_process_killed_while_orders_flow_is_restarted_and_no_order_is_lost(desk, name):
    assert_each_settled_once(desk, *kill_while_orders_flow(desk, name))


@pytest.mark.fault(14, "the embedded Redis SIGKILLed under make run")
def test_the_embedded_redis_killed_while_orders_flow_is_restarted_and_no_order_is_lost(desk):
    assert_each_settled_once(desk, *kill_while_orders_flow(desk, "redis"))


@pytest.mark.fault(12, "the launcher SIGKILLed, then make run again")
def test_a_launcher_killed_takes_its_children_along_and_the_next_one_starts_cleanly(desk):
    trader = Trader(desk, "before-the-kill")
    trader.start()
    wait_for(lambda: len(trader.placed) >= 2, timeout=60, what="orders before the kill")
    trader.stop()
    groups = desk.groups()

    desk.process.kill()
    desk.process.wait()
    wait_for(lambda: not processes_in(groups), timeout=10, what="its children to die with it")
    desk.start()

    assert "system | ERROR" not in desk.this_run()
    assert {desk.status(client_order_id) for client_order_id in trader.placed} == {"NEW"}
    assert desk.stop() == 0
    assert desk.log().rstrip().endswith("system | stopped")
