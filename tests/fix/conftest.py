"""The FIX gateway as production runs it (`manage.py fix_gateway`, its own process) on the test
database and Redis, with a paper account, a trader and their API key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import ROOT, VAR, test_database_url, wait_for

pytest.importorskip("quickfix", reason="the FIX gateway's engine: pip install .[fix]")

from accounts.models import Balance  # noqa: E402
from accounts.services import account_link, api_key_create  # noqa: E402
from orders.instruments import instruments_refresh  # noqa: E402
from tests.api.conftest import api, trader  # noqa: E402, F401
from tests.fix.counterparty import Initiator  # noqa: E402
from tests.stream.live import free_port  # noqa: E402
from venues.paper import engine  # noqa: E402

ACCOUNT = "PAPER/FIX"


class GatewayProcess:
    """`manage.py fix_gateway` on a free port, its log and its store under `directory`."""

    def __init__(self, directory: Path, port: int | None = None, env: dict | None = None):
        self.directory = directory
        self.port = port or free_port()
        self.env = env or {}
        self.log_path = VAR / f"test-fix-{os.getpid()}-{self.port}.log"
        self.start()

    def start(self) -> None:
        self.log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "fix_gateway", "--port", str(self.port)],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "tests.settings",
                "DATABASE_URL": test_database_url(),
                "REDIS_URL": settings.REDIS_URL,
                "EMSWEB_FIX_DIR": str(self.directory),
                "EMSWEB_FIX_PORT": str(self.port),
                "PYTHONUNBUFFERED": "1",
                **self.env,
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._listening, timeout=30, what="the FIX gateway to listen")

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"fix_gateway exited: {self.output()[-3000:]}")
        return f"FIX gateway listening on port {self.port}" in self.output()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, *, kill: bool = False) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def alive(self) -> bool:
        return self.process.poll() is None


@pytest.fixture
def account(pipeline):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    account, _ = account_link(exchange_id=ACCOUNT, parameters={})
    wait_for(lambda: Balance.objects.filter(account=account).exists(), what="first sync")
    return account


@pytest.fixture
def gateway(pipeline, tmp_path):
    process = GatewayProcess(tmp_path / "gateway")
    yield process
    process.stop()


@pytest.fixture
def trading_key(trader):  # noqa: F811 - the /v1 tests' trader
    return api_key_create(user=trader, label="oms")


@pytest.fixture
def connect(gateway, tmp_path):
    """connect(key, api_key=...) -> a logged-on initiator for that key; all stopped after."""
    started = []

    def start(api_key, key: str, *, name: str = "oms", wait: bool = True, **options):
        initiator = Initiator(
            port=gateway.port,
            key=key,
            sender=api_key.fix_sender,
            target=api_key.fix_target,
            directory=tmp_path / name,
            **options,
        )
        started.append(initiator)
        if wait:
            try:
                initiator.wait_logged_on()
            except AssertionError as failed:
                log = gateway.output()[-3000:]
                raise AssertionError(f"{failed}\nthe gateway's log:\n{log}") from None
        return initiator

    yield start
    for initiator in started:
        initiator.stop()
    for initiator in started:
        initiator.close()
