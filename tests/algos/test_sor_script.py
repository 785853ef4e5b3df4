"""Through /v1/sor/add, a script (examples/sor_twap.py) starts a TWAP, watches it on the socket
and cancels it halfway, against a real server and a real worker: the remaining children are
canceled, and the parent reports what was filled."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest
import simplejson

from accounts.models import Balance, DeskMember, DeskRole
from accounts.services import account_link, api_key_create
from algos.models import ParentOrder
from algos.selectors import children, parent_progress
from orders.instruments import instruments_refresh
from orders.statuses import WORKING_STATUSES
from tests.algos.test_worker_killed import Beat
from tests.conftest import ROOT, wait_for
from tests.stream.live import WebServer
from venues.paper import engine


@pytest.fixture
def web_server(transactional_db):
    server = WebServer("sor")
    yield server
    server.stop()


def test_a_script_starts_a_twap_watches_it_on_the_socket_and_cancels_it_halfway(
    pipeline, web_server, django_user_model
):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    account, _ = account_link(exchange_id="PAPER/SCRIPT", parameters={})
    wait_for(lambda: Balance.objects.filter(account=account).exists(), what="the first sync")
    user = django_user_model.objects.create_user("scripted", password="x" * 12)
    DeskMember.objects.create(user=user, role=DeskRole.ADMIN)
    key = api_key_create(user=user, label="script")[1]

    beat = Beat()
    beat.start()
    try:
        run = subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples" / "sor_twap.py"),
                "--base-url",
                f"http://127.0.0.1:{web_server.port}",
                "--key",
                key,
                "--exchange-id",
                "PAPER/SCRIPT",
                "--amount",
                "0.1",
                "--duration",
                "20SEC",
                "--interval",
                "4SEC",
                "--cancel-after",
                "9",
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=90,
        )
    finally:
        beat.stopped.set()
        beat.join()
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [
        simplejson.loads(line, use_decimal=True)
        for line in run.stdout.splitlines()
        if line.startswith("{")
    ]
    watched = [line["type"] for line in lines[:-1]]
    assert "TradeRequest" in watched and "TradeFill" in watched
    assert lines[-2] == {**lines[-2], "type": "StatusChange", "status": "Cancelled"}

    report = lines[-1]
    parent = ParentOrder.objects.get(pk=report["id"])
    wait_for(
        lambda: not children(parent).filter(status__in=WORKING_STATUSES).exists(),
        what="the working children canceled",
    )
    filled = parent_progress(parent).filled
    assert Decimal(0) < filled < Decimal("0.1")
    assert report["status"] == "Cancelled"
    assert report["amountFilled"] == filled
    assert sum(fill["amountFilled"] for fill in report["fills"]) == filled
    assert (
        f"Filled {filled.normalize()}" in report["statusInfo"] or "Filled" in report["statusInfo"]
    )
