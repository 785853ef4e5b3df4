"""`make bench` end to end, scaled down on a tiny history: every benchmark runs to the end on the
production stack (PostgreSQL, a Redis of the test's own, the two workers, beat and gunicorn) and
yields every figure of bench/README.md's table, so that a benchmark that breaks fails the suite
rather than the next full run. The figures themselves are not looked at: tests never time."""

import json
import os
import re
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import psycopg
import pytest

from bench import stack
from tests.conftest import ROOT, VAR, RedisServer

README = ROOT / "bench" / "README.md"
pytestmark = [pytest.mark.pipeline]


@pytest.fixture
def bench_database():
    """A database of this run's own on the PostgreSQL server that make bench uses (its
    BENCH_DATABASE_URL when set in the environment), dropped afterwards."""
    server = urlsplit(os.environ.get("BENCH_DATABASE_URL", stack.DEFAULT_DATABASE_URL))
    try:
        socket.create_connection((server.hostname, server.port or 5432), timeout=5).close()
    except OSError as error:
        pytest.skip(f"make bench needs PostgreSQL; none at {server.hostname}: {error}")
    name = f"emsweb_bench_test_{os.getpid()}"
    yield server._replace(path=f"/{name}").geturl()
    with psycopg.connect(server._replace(path="/postgres").geturl(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def bench_redis():
    server = RedisServer(VAR / f"test-bench-redis-{os.getpid()}.sock")
    server.start()
    yield server
    server.stop()


def figure_shapes(rows) -> set[tuple[str, str]]:
    """(benchmark, figure name with every number as N): a scaled-down run's names carry its own
    counts (20 open orders where a full run has 500)."""
    return {(bench, re.sub(r"\d[\d,.]*", "N", name)) for bench, name in rows}


def readme_table() -> list[tuple[str, str]]:
    """(benchmark, figure) of the README's figure tables: those whose first column is
    "benchmark" (the README's other tables compare runs and are not the bench's output)."""
    rows, in_figures = [], False
    for line in README.read_text().splitlines():
        cells = [cell.strip() for cell in line.split("|")[1:3]]
        if len(cells) < 2:
            in_figures = False
        elif cells[0] == "benchmark":
            in_figures = True
        elif in_figures and cells[0] != "---":
            rows.append((cells[0], cells[1]))
    return rows


def test_the_readme_table_lists_each_benchmarks_figures():
    benchmarks = {bench for bench, _ in readme_table()}
    assert benchmarks == {
        *("routing", "sync", "throughput", "api", "blotter", "screen", "screen_cpu", "history"),
        *("stream", "fix", "algos"),
    }


def bench_run(tmp_path, database_url: str, redis_url: str, *options: str) -> dict:
    """`python -m bench --scale 0.01 --history-orders 2000 OPTIONS` to the end; its JSON."""
    output = tmp_path / "latest.json"
    env = {name: os.environ[name] for name in stack.PASSED_THROUGH if name in os.environ}
    env |= {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "BENCH_WORK_DIR": str(tmp_path),
        # Django closes the harness's connection at the end of every in-process request, as a
        # full run's is once it is older than CONN_MAX_AGE: no benchmark may count on it open.
        "CONN_MAX_AGE": "0",
    }
    command = ["-m", "bench", "--scale", "0.01", "--history-orders", "2000", *options]
    run = subprocess.run(
        [sys.executable, *command, "--output", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"{run.stdout[-6000:]}\n{run.stderr[-3000:]}"
    written = json.loads(output.read_text())
    assert "failed" not in written["details"]
    return written


def test_make_bench_runs_every_benchmark_to_the_end_on_a_tiny_history(
    tmp_path, bench_database, bench_redis
):
    written = bench_run(tmp_path, bench_database, bench_redis.url)
    produced = [(figure["bench"], figure["name"]) for figure in written["figures"]]
    assert figure_shapes(produced) == figure_shapes(readme_table())


def test_the_fix_benchmark_times_orders_over_fix_beside_the_rest_post_in_the_same_run(
    tmp_path, bench_database, bench_redis
):
    pytest.importorskip("quickfix", reason="the FIX gateway's engine: pip install .[fix]")
    written = bench_run(tmp_path, bench_database, bench_redis.url, "--only", "fix")
    produced = {(figure["bench"], figure["name"]) for figure in written["figures"]}
    expected = {(bench, name) for bench, name in readme_table() if bench == "fix"}
    assert figure_shapes(produced) == figure_shapes(expected)
    measured = written["details"]["fix"]["latency_ms"]
    assert set(measured) == {
        *("NewOrderSingle→ExecutionReport (New)", "TestRequest→Heartbeat"),
        *("POST /v1/orders", "constant view"),
    }
    # As many orders each way, every one acknowledged (the run fails on any other answer).
    assert measured["POST /v1/orders"]["n"] == measured["NewOrderSingle→ExecutionReport (New)"]["n"]
    with psycopg.connect(bench_database) as database:
        [(over_fix,)] = database.execute(FIX_ORDERS).fetchall()
    assert over_fix >= measured["NewOrderSingle→ExecutionReport (New)"]["n"]


def test_with_risk_limits_every_bench_order_is_checked_against_every_limit_of_its_scopes(
    tmp_path, bench_database, bench_redis
):
    written = bench_run(
        tmp_path, bench_database, bench_redis.url, "--risk-limits", "--only", "routing,api"
    )
    produced = {(figure["bench"], figure["name"]) for figure in written["figures"]}
    expected = {(bench, name) for bench, name in readme_table() if bench in {"routing", "api"}}
    assert figure_shapes(produced) == figure_shapes(expected)
    with psycopg.connect(bench_database) as database:
        limited = {
            (account_id, user_id)
            for account_id, user_id, *values in database.execute(LIMITS_SET).fetchall()
            if None not in values and "" not in values
        }
        accounts = database.execute(BENCH_ACCOUNTS).fetchall()
        traders = database.execute(BENCH_TRADERS).fetchall()
        [(orders, counted)] = database.execute(BENCH_ORDERS_COUNTED).fetchall()
    assert (None, None) in limited  # the desk's
    assert {(account_id, None) for (account_id,) in accounts} <= limited
    assert {(None, user_id) for (user_id,) in traders} <= limited
    assert len(traders) == 2  # the trader of the in-process submits, the API key's user
    assert orders > 0
    assert counted == orders  # every order the run submitted was counted by the desk's limits


FIX_ORDERS = """
    SELECT count(*) FROM orders_order o
    JOIN accounts_exchangeaccount a ON a.id = o.account_id
    WHERE a.exchange_id LIKE 'PAPER/BENCH-FIX-%' AND o.created_with_key_id IS NOT NULL
"""
LIMITS_SET = """
    SELECT account_id, user_id, max_order_notional_usd, max_working_orders, max_orders_per_second,
           max_orders_per_minute, max_daily_notional_usd, price_band_percent,
           reference_max_age_seconds, allowed_instruments
    FROM risk_risklimits
"""
BENCH_ACCOUNTS = "SELECT id FROM accounts_exchangeaccount WHERE exchange_id LIKE 'PAPER/BENCH-%'"
BENCH_TRADERS = """
    SELECT DISTINCT o.created_by_id FROM orders_order o
    JOIN accounts_exchangeaccount a ON a.id = o.account_id
    WHERE a.exchange_id LIKE 'PAPER/BENCH-%'
"""
BENCH_ORDERS_COUNTED = """
    SELECT (SELECT count(*) FROM orders_order o
            JOIN accounts_exchangeaccount a ON a.id = o.account_id
            WHERE a.exchange_id LIKE 'PAPER/BENCH-%'),
           (SELECT coalesce(sum(orders), 0) FROM risk_riskusage WHERE scope = 'desk')
"""
