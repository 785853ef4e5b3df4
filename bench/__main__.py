"""`python -m bench` (or `make bench`): every benchmark on the production stack, a table, and
bench/results/latest.json. See bench/README.md."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from . import report, stack

BENCHMARKS = (
    *("routing", "sync", "throughput", "api", "blotter", "screen", "screen_cpu", "history"),
    *("stream", "fix", "algos"),
)
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
# More than this many cores busy outside the bench during a benchmark: its figures are suspect.
NOISY = 0.15
# The desks the benchmarks share, in a full run: one account with this many resting orders (what
# the API list and the blotter read), and accounts with this many each that beat syncs.
OPEN_ORDERS = 500
BUSY_ACCOUNTS = 10
BUSY_ORDERS_EACH = 100


@dataclass
class Context:
    """What every benchmark gets: the running stack, the web port, the run's id and scale."""

    stack: stack.Stack
    port: int
    run: str
    scale: float
    risk_limits: bool = False
    details: dict = field(default_factory=dict)

    open_account: object = None
    busy_accounts: list = field(default_factory=list)
    _trader: object = None

    def n(self, count: int, least: int = 20) -> int:
        """A count scaled down for a quick run (--quick, --scale), never below `least`."""
        return max(least, int(count * self.scale))

    def paper_accounts(self, names: list[str]) -> list:
        """Linked paper accounts (fixtures.paper_accounts); with --risk-limits, every limit set
        on each."""
        from . import fixtures, limits

        accounts = fixtures.paper_accounts(names)
        if self.risk_limits:
            for account in accounts:
                limits.limits_set(account=account)
        return accounts

    def paper_account(self, name: str):
        return self.paper_accounts([name])[0]

    def trading_user(self, username: str, role: str):
        """A desk user who submits orders; with --risk-limits, every limit set on them."""
        from . import fixtures, limits

        user = fixtures.desk_user(username, role)
        if self.risk_limits:
            limits.limits_set(user=user)
        return user

    @property
    def trader(self):
        """The trader whose orders the benchmarks submit in-process, as the ticket would."""
        from accounts.models import DeskRole

        if self._trader is None:
            self._trader = self.trading_user(f"bench-trader-{self.run}", DeskRole.TRADER)
        return self._trader

    @property
    def open_orders(self) -> int:
        return self.n(OPEN_ORDERS)

    @property
    def busy_orders_each(self) -> int:
        return self.n(BUSY_ORDERS_EACH, least=5)

    def open_desk(self):
        """An account with `open_orders` resting orders, NEW at the venue (made once, kept until
        close_desk): the desk that the API list and the blotter read."""
        from . import fixtures

        if self.open_account is None:
            account = self.paper_account(f"OPEN-{self.run}")
            fixtures.submit_many(account, f"{self.run}-open", self.open_orders, self.trader)
            self.open_account = account
        return self.open_account

    def close_desk(self) -> None:
        from . import fixtures

        if self.open_account is not None:
            fixtures.retire([self.open_account])
            self.open_account = None

    def busy_desk(self) -> list:
        """BUSY_ACCOUNTS accounts with `busy_orders_each` resting orders each, which beat syncs
        every EMSWEB_SYNC_INTERVAL as production does (made once, kept until close_busy_desk)."""
        from . import fixtures

        if not self.busy_accounts:
            names = [f"SYNC-{self.run}-{k:02d}" for k in range(1, BUSY_ACCOUNTS + 1)]
            for k, account in enumerate(self.paper_accounts(names), start=1):
                for n in range(self.busy_orders_each):
                    fixtures.submit(account, f"{self.run}-sync{k:02d}-{n}", n, self.trader)
                self.busy_accounts.append(account)
            for account in self.busy_accounts:
                fixtures.settled(account, timeout=120)
        return self.busy_accounts

    def close_busy_desk(self) -> None:
        from . import fixtures

        if self.busy_accounts:
            fixtures.retire(self.busy_accounts)
            self.busy_accounts = []


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the bench database and its generated history instead of starting afresh",
    )
    parser.add_argument("--only", default="", help=f"comma-separated: {', '.join(BENCHMARKS)}")
    parser.add_argument("--history-orders", type=int, default=1_000_000)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="every count times this, never below a floor of its own (the test suite runs 0.01)",
    )
    parser.add_argument(
        "--quick",
        action="store_const",
        const=0.1,
        dest="scale",
        help="a tenth of every count: a smoke run, not figures (--scale 0.1)",
    )
    parser.add_argument(
        "--risk-limits",
        action="store_true",
        help="every risk limit set on the desk and on every bench account and trader, generous "
        "enough never to refuse: what checking them costs (bench/README.md)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP end the run like Ctrl-C does, so that every process is stopped."""

    def interrupted(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupted)


def say(text: str) -> None:
    print(f"bench | {text}", flush=True)


def prepare(args, env: dict[str, str]) -> None:
    """The database (afresh unless --reuse), its schema, the paper instruments, the history."""
    os.environ.update(env)
    os.environ["LOG_LEVEL"] = "WARNING"  # the harness's own log; the services log as production
    created = stack.database_ensure(env["DATABASE_URL"], fresh=not args.reuse)
    where = stack.without_password(env["DATABASE_URL"])
    say(f"database {'created' if created else 'kept'}: {where}")

    import django

    django.setup()
    from django.core.management import call_command

    from emsweb.redis import redis_client
    from orders.instruments import instruments_refresh

    from . import fixtures, limits

    call_command("migrate", verbosity=0)
    if not (Path(env["STATIC_ROOT"]) / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)  # as the image build does
    redis_client().flushdb()
    fixtures.reset()
    if cleared := limits.limits_clear():
        say(f"risk limits of {cleared} scopes removed (an earlier --risk-limits run's)")
    instruments_refresh(venue="PAPER")
    say(f"history: {args.history_orders:,} orders (manage.py bench_history)")
    call_command("bench_history", orders=args.history_orders)
    from django.db import connection

    with connection.cursor() as cursor:
        # Fresh statistics, as autovacuum keeps them, also when --reuse kept the database.
        cursor.execute("ANALYZE orders_order, orders_orderevent, orders_fill")


def start(services: stack.Stack, port: int) -> None:
    import http.client

    from .tasks import noop

    # The two workers of docker-compose.yml: the order path's, and the one for everything else.
    pool = stack.order_worker_pool()
    services.start("worker", CELERY_QUEUES="orders", **pool)
    services.start(
        "worker-background",
        command="worker",
        CELERY_QUEUES="default",
        CELERY_POOL="prefork",
        CELERY_CONCURRENCY="1",
        CELERY_WORKER_NAME="background",
    )
    services.start("beat")
    services.start("web", GUNICORN_BIND=f"127.0.0.1:{port}", PORT=str(port))

    def worker_answers() -> bool:
        from emsweb.redis import redis_client

        noop.delay(time.time())
        return stack.wait_until(
            "a no-op task", lambda: redis_client().delete("bench:noop:started"), timeout=2
        )

    def web_answers() -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False

    stack.wait_until("the worker", lambda: _retrying(worker_answers), timeout=60, stack=services)
    stack.wait_until("gunicorn", web_answers, timeout=60, stack=services, every=0.2)
    say(
        f"order worker ready ({pool['CELERY_POOL']} pool of {pool['CELERY_CONCURRENCY']}), "
        f"background worker ({len(services.pids('worker-background')) - 1} pool processes), "
        f"beat, gunicorn on 127.0.0.1:{port}"
    )


def _retrying(probe) -> bool:
    try:
        return probe()
    except TimeoutError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    selected = [name for name in (args.only.split(",") if args.only else BENCHMARKS) if name]
    unknown = set(selected) - set(BENCHMARKS)
    if unknown:
        say(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        return 2
    stop_on_signals()
    env = stack.environment(
        os.environ.get("DATABASE_URL", stack.DEFAULT_DATABASE_URL),
        os.environ.get("REDIS_URL", stack.DEFAULT_REDIS_URL),
    )
    began = time.monotonic()
    prepare(args, env)

    import importlib

    from . import fixtures

    open_files = stack.open_files_raise()
    services = stack.Stack(env)
    figures: list[report.Figure] = []
    context = None
    try:
        port = stack.free_port()
        start(services, port)
        context = Context(services, port, fixtures.run_id(), args.scale, args.risk_limits)
        context.details["open_files_limit"] = {"soft": open_files[0], "hard": open_files[1]}
        if args.risk_limits:
            from . import limits

            limits.limits_set()
            context.details["risk_limits"] = {k: str(v) for k, v in limits.GENEROUS.items()}
            say("risk limits: every limit on the desk, and on each bench account and trader")
        for name in selected:
            say(f"{name}...")
            module = importlib.import_module(f"bench.{name}")
            started = time.monotonic()
            try:
                with stack.CpuMeter(services) as cpu:
                    produced = module.run(context)
            except Exception:  # noqa: BLE001 - one benchmark failing leaves the others to run
                traceback.print_exc()
                context.details.setdefault("failed", {})[name] = traceback.format_exc()
                say(f"{name} FAILED; going on with the others")
                services.check_alive()
                continue
            figures += produced
            used = cpu.cores_used()
            context.details.setdefault("cores_used", {})[name] = used
            noisy = (
                f"; WARNING: {used['other']} cores busy outside the bench"
                if used["other"] > NOISY
                else ""
            )
            say(f"{name}: {len(produced)} figures in {time.monotonic() - started:.0f} s{noisy}")
            print(report.table(produced), flush=True)
    finally:
        services.stop_all()
        say("worker and gunicorn stopped")

    print()
    print(report.table(figures))
    info = report.machine(*server_versions())
    info["scale"] = args.scale
    info["risk_limits"] = args.risk_limits
    info["wall_seconds"] = round(time.monotonic() - began)
    report.write(args.output, figures, info, context.details if context else {})
    args.output.with_suffix(".md").write_text(report.markdown(figures) + "\n")
    say(f"{info['cores']} cores; written to {args.output} in {info['wall_seconds']} s")
    failed = context.details.get("failed", {}) if context else {}
    if failed:
        # The others' figures are written, but a benchmark that broke fails make bench.
        say(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


def server_versions() -> tuple[str, str]:
    from django.db import connection

    from emsweb.redis import redis_client

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        database = cursor.fetchone()[0]
    return database, redis_client().info("server")["redis_version"]


if __name__ == "__main__":
    sys.exit(main())
