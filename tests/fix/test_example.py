"""The README's FIX section, as a desk would follow it: examples/fix/fix_order.py, with the
example initiator settings, against the gateway process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orders.models import Order
from tests.conftest import ROOT
from tests.fix.conftest import ACCOUNT

pytestmark = [pytest.mark.pipeline]
EXAMPLE = ROOT / "examples" / "fix" / "fix_order.py"


def run_example(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, timeout=120
    )


def test_the_example_places_an_order_that_fills_and_prints_its_reports(
    account, trading_key, gateway
):
    _, key = trading_key
    run = run_example("--key", key, "--port", str(gateway.port), "--exchange-id", ACCOUNT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ExecType=0" in run.stdout and "ExecType=F" in run.stdout
    assert run.stdout.rstrip().endswith(": FILLED")
    order = Order.objects.get()
    assert order.status == "FILLED" and order.client_order_id.startswith("fix-example-")


def test_the_example_cancels_an_order_still_open_after_its_wait(account, trading_key, gateway):
    _, key = trading_key
    run = run_example(
        "--key", key, "--port", str(gateway.port), "--exchange-id", ACCOUNT,
        "--price", "40000", "--cancel-after", "1",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ExecType=6" in run.stdout and run.stdout.rstrip().endswith(": CANCELED")
