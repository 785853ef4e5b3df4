"""Generate a long order history for the benchmarks: `manage.py bench_history --orders 1000000`.

Orders, their history rows and their fills, as a desk that traded for two years would have
them: most orders on a few busy accounts, more BTC and ETH than the rest, half of them filled
(some in two fills), a third canceled (some after a partial fill), the rest rejected, the
times spread over the whole period and increasing with the id. All on the paper venue, in
accounts named PAPER/HIST-nn that are disabled, so that no sync ever asks a venue about them.

PostgreSQL only: each batch is one INSERT ... SELECT over generate_series that writes the orders
and, from what they returned, their history rows and fills, so that no row passes through
Python. A million orders take a minute or two on two cores.
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from itertools import accumulate

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import ApiKey, DeskMember, DeskRole, ExchangeAccount
from accounts.services import api_key_hash
from orders.instruments import instruments_refresh
from orders.models import Instrument, Order

ACCOUNT_PREFIX = "PAPER/HIST-"
TRADER_PREFIX = "hist-trader-"
# Per instrument: its share of the orders, a typical order size and a price to spread around.
INSTRUMENTS = {
    "BTCUSD": (0.45, Decimal("0.5"), Decimal(50000)),
    "ETHUSD": (0.35, Decimal(5), Decimal(3000)),
    "OXTUSD": (0.10, Decimal(20000), Decimal("0.11")),
    "USDJPY": (0.10, Decimal(10000), Decimal(150)),
}

GENERATE = """
WITH src AS (
    SELECT g,
           width_bucket(random(), %(account_cuts)s::float8[]) AS a,
           width_bucket(random(), %(instrument_cuts)s::float8[]) AS i,
           random() AS r_status, random() AS r_side, random() AS r_tif, random() AS r_price,
           random() AS r_amount, random() AS r_fill, random() AS r_duration, random() AS r_user,
           random() AS r_key, random() AS r_jitter
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
), shaped AS (
    SELECT src.*,
           (%(ticks)s::numeric[])[i] AS tick, (%(lots)s::numeric[])[i] AS lot,
           (%(start)s::timestamptz + ((g - 1) + r_jitter) * %(step)s::interval) AS created,
           CASE WHEN r_status < 0.52 THEN 'FILLED'
                WHEN r_status < 0.92 THEN 'CANCELED'
                ELSE 'REJECTED' END AS status,
           greatest(
               (%(min_amounts)s::numeric[])[i],
               round((%(sizes)s::numeric[])[i] * (0.02 + 2 * r_amount ^ 2)::numeric
                     / (%(lots)s::numeric[])[i]) * (%(lots)s::numeric[])[i]
           ) AS amount,
           round((%(mids)s::numeric[])[i] * (0.85 + 0.3 * r_price)::numeric
                 / (%(ticks)s::numeric[])[i]) * (%(ticks)s::numeric[])[i] AS price
    FROM src
), filled AS (
    SELECT shaped.*,
           CASE WHEN status = 'FILLED' THEN amount
                -- a fifth of the canceled orders traded part of their amount first
                WHEN status = 'CANCELED' AND r_fill < 0.2 AND amount >= 2 * lot
                THEN greatest(lot, least(amount - lot,
                         floor(amount * (0.1 + 4 * r_fill)::numeric / lot) * lot))
                ELSE 0 END AS amount_filled,
           least(%(now)s::timestamptz, CASE
                WHEN status = 'FILLED'
                THEN created + interval '20 ms' + r_duration ^ 3 * interval '6 hours'
                WHEN status = 'CANCELED'
                THEN created + interval '1 s' + r_duration ^ 2 * interval '2 days'
                ELSE created + interval '9 ms' END) AS settled
    FROM shaped
), new AS (
    INSERT INTO orders_order (
        client_order_id, account_id, instrument_id, side, order_type, time_in_force,
        expire_time, exec_inst, amount_order, price, amount_open, amount_filled, avg_px,
        status, exchange_order_id, client_order_id_format_exchange, error_message,
        reject_reason, origin, created_by_id, created_with_key_id, request_hash,
        routing_started_at, not_found_lookups, version, created_at, updated_at
    )
    SELECT
        'hist-' || lpad(g::text, 8, '0') || '-' || substr(md5(g::text), 1, 8),
        (%(accounts)s::bigint[])[a],
        (%(instruments)s::bigint[])[i],
        CASE WHEN r_side < 0.5 THEN 'BUY' ELSE 'SELL' END,
        'LIMIT',
        CASE WHEN r_tif < 0.80 THEN 'GOOD_TILL_CANCEL'
             WHEN r_tif < 0.90 THEN 'IMMEDIATE_OR_CANCEL'
             WHEN r_tif < 0.95 THEN 'FILL_OR_KILL'
             ELSE 'GOOD_TILL_TIME_EXCHANGE' END,
        CASE WHEN r_tif >= 0.95 THEN created + interval '1 day' END,
        '[]'::jsonb,
        amount, price, amount - amount_filled, amount_filled,
        CASE WHEN amount_filled > 0 THEN price ELSE 0 END,
        status,
        CASE WHEN status <> 'REJECTED'
             THEN upper('O' || substr(md5('x' || g), 1, 5) || '-' || substr(md5('y' || g), 1, 5)
                        || '-' || substr(md5('z' || g), 1, 6))
             ELSE '' END,
        'hist-' || lpad(g::text, 8, '0') || '-' || substr(md5(g::text), 1, 8),
        CASE WHEN status = 'REJECTED' THEN 'EOrder:Insufficient funds' ELSE '' END,
        CASE WHEN status = 'REJECTED' THEN 'VENUE' ELSE '' END,
        'EMS',
        (%(users)s::bigint[])[1 + floor(r_user * %(user_count)s)::int],
        CASE WHEN r_key < 0.3
             THEN (%(keys)s::bigint[])[1 + floor(r_key * 10 * %(key_count)s / 3)::int] END,
        '',
        created + interval '2 ms',
        0,
        CASE status WHEN 'FILLED' THEN 4 + (g %% 10 < 3)::int
                    WHEN 'CANCELED' THEN 5 + (amount_filled > 0)::int
                    ELSE 2 END,
        created,
        settled
    FROM filled
    RETURNING id, status, created_at, updated_at, amount_order, amount_filled, price, side,
              instrument_id
), events AS (
    INSERT INTO orders_orderevent (order_id, status, at, cause, note)
    SELECT new.id, e.status, e.at, e.cause, ''
    FROM new CROSS JOIN LATERAL (VALUES
        ('RECEIVED', new.created_at, 'SUBMIT', true),
        ('ROUTING', new.created_at + interval '2 ms', 'ROUTE', true),
        ('ROUTED', new.created_at + interval '9 ms', 'ROUTE', new.status <> 'REJECTED'),
        ('NEW', new.created_at + interval '9 ms', 'ROUTE', new.status <> 'REJECTED'),
        ('PARTIALLY_FILLED', new.created_at + (new.updated_at - new.created_at) / 2, 'SYNC',
         (new.status = 'FILLED' AND new.id %% 10 < 3)
         OR (new.status = 'CANCELED' AND new.amount_filled > 0)),
        ('PENDING_CANCEL', new.updated_at - interval '40 ms', 'CANCEL', new.status = 'CANCELED'),
        ('CANCELED', new.updated_at, 'SYNC', new.status = 'CANCELED'),
        ('FILLED', new.updated_at, 'SYNC', new.status = 'FILLED'),
        ('REJECTED', new.created_at + interval '9 ms', 'ROUTE', new.status = 'REJECTED')
    ) AS e(status, at, cause, present)
    WHERE e.present
)
INSERT INTO orders_fill (order_id, trade_id, time, price, amount, fee, fee_asset, liquidity,
                         recorded_at)
SELECT new.id, 'T' || new.id || '-' || f.k, f.at, new.price, f.amount,
       round(f.amount * new.price * 0.0026, 8),
       (%(quotes)s::text[])[array_position(%(instruments)s::bigint[], new.instrument_id)],
       CASE WHEN f.k = 1 THEN 'taker' ELSE 'maker' END, f.at
FROM new CROSS JOIN LATERAL (VALUES
    (1, new.created_at + (new.updated_at - new.created_at) / 2,
     CASE WHEN new.status = 'FILLED' AND new.id %% 10 >= 3 THEN new.amount_filled
          WHEN new.status = 'FILLED' THEN new.amount_filled / 2
          ELSE new.amount_filled END),
    (2, new.updated_at, new.amount_filled / 2)
) AS f(k, at, amount)
WHERE new.amount_filled > 0 AND (f.k = 1 OR (new.status = 'FILLED' AND new.id %% 10 < 3))
"""


TABLES = ("orders_order", "orders_orderevent", "orders_fill")


def foreign_key_constraints(cursor) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the three tables' foreign keys."""
    cursor.execute(
        """
        SELECT tab.relname, con.conname, pg_get_constraintdef(con.oid)
        FROM pg_constraint con JOIN pg_class tab ON tab.oid = con.conrelid
        WHERE con.contype = 'f' AND tab.relname = ANY(%s)
        ORDER BY tab.relname, con.conname
        """,
        [list(TABLES)],
    )
    return cursor.fetchall()


def secondary_indexes(cursor) -> list[tuple[str, str]]:
    """The indexes of the three tables that back no primary key or unique constraint."""
    cursor.execute(
        """
        SELECT index.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        JOIN pg_class tab ON tab.oid = i.indrelid
        JOIN pg_class index ON index.oid = i.indexrelid
        WHERE tab.relname = ANY(%s) AND NOT i.indisprimary AND NOT i.indisunique
        ORDER BY index.relname
        """,
        [list(TABLES)],
    )
    return cursor.fetchall()


def cuts(weights: list[float]) -> list[float]:
    """Lower bounds of each choice's slice of [0, 1), for width_bucket."""
    total = sum(weights)
    return [0.0, *(running / total for running in accumulate(weights[:-1]))]


class Command(BaseCommand):
    help = "Generate a long order history (orders, history rows, fills) for the benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=1_000_000)
        parser.add_argument("--batch", type=int, default=100_000)
        parser.add_argument("--accounts", type=int, default=12)
        parser.add_argument("--days", type=int, default=730)
        parser.add_argument("--seed", type=float, default=0.42, help="for setseed(), -1..1")
        parser.add_argument(
            "--replace", action="store_true", help="delete an existing generated history first"
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_history writes with PostgreSQL's generate_series.")
        wanted = options["orders"]
        existing = Order.objects.filter(account__exchange_id__startswith=ACCOUNT_PREFIX).count()
        if existing and not options["replace"]:
            self.stdout.write(f"A generated history is there already: {existing:,} orders.")
            return
        if existing:
            self._delete()
        accounts, users, keys = self._desk(options["accounts"])
        instruments = self._instruments()
        self._generate(wanted, options, accounts, users, keys, instruments)

    def _desk(self, count: int) -> tuple[list[int], list[int], list[int]]:
        """The accounts (disabled: nothing syncs them), the traders and their API keys."""
        User = get_user_model()
        users = []
        for n in range(1, 7):
            user, _ = User.objects.get_or_create(username=f"{TRADER_PREFIX}{n}")
            DeskMember.objects.get_or_create(user=user, defaults={"role": DeskRole.TRADER})
            users.append(user)
        keys = [
            ApiKey.objects.get_or_create(
                user=user,
                label="bench history",
                defaults={"prefix": f"ems_hist{n}", "key_hash": api_key_hash(f"hist-{n}")},
            )[0].pk
            for n, user in enumerate(users[:3])
        ]
        accounts = [
            ExchangeAccount.objects.update_or_create(
                exchange_id=f"{ACCOUNT_PREFIX}{n:02d}",
                defaults={"venue": "PAPER", "tag": f"HIST-{n:02d}", "enabled": False},
            )[0].pk
            for n in range(1, count + 1)
        ]
        return accounts, [user.pk for user in users], keys

    def _instruments(self) -> dict[str, Instrument]:
        if not Instrument.objects.filter(venue="PAPER").exists():
            instruments_refresh(venue="PAPER")
        found = {
            instrument.symbol_id_exchange: instrument
            for instrument in Instrument.objects.filter(
                venue="PAPER", symbol_id_exchange__in=INSTRUMENTS
            )
        }
        missing = INSTRUMENTS.keys() - found.keys()
        if missing:
            raise CommandError(f"The paper venue lacks {', '.join(sorted(missing))}.")
        return found

    def _generate(self, wanted, options, accounts, users, keys, instruments) -> None:
        now = timezone.now()
        span = timedelta(days=options["days"])
        symbols = list(INSTRUMENTS)
        params = {
            # Busy accounts first: account n gets a share proportional to 1/n.
            "account_cuts": cuts([1 / n for n in range(1, len(accounts) + 1)]),
            "accounts": accounts,
            "instrument_cuts": cuts([INSTRUMENTS[s][0] for s in symbols]),
            "instruments": [instruments[s].pk for s in symbols],
            "quotes": [instruments[s].quote for s in symbols],
            "ticks": [instruments[s].tick_size for s in symbols],
            "lots": [instruments[s].lot_size for s in symbols],
            "min_amounts": [
                max(instruments[s].min_amount, instruments[s].lot_size) for s in symbols
            ],
            "sizes": [INSTRUMENTS[s][1] for s in symbols],
            "mids": [INSTRUMENTS[s][2] for s in symbols],
            "users": users,
            "user_count": len(users),
            "keys": keys,
            "key_count": len(keys),
            "now": now,
            "start": now - span - timedelta(hours=1),
            "step": span / wanted,
        }
        started = time.monotonic()
        batch = options["batch"]
        # One transaction: the foreign keys and secondary indexes are dropped, the rows
        # written, then the indexes built and the keys checked again over whole tables, which
        # is three times as fast as keeping them up row by row. Interrupted, it leaves the
        # tables as they were.
        with transaction.atomic(), connection.cursor() as cursor:
            foreign_keys = foreign_key_constraints(cursor)
            for table, name, _ in foreign_keys:
                cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
            indexes = secondary_indexes(cursor)
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            cursor.execute("SELECT setseed(%s)", [options["seed"]])
            for first in range(1, wanted + 1, batch):
                last = min(wanted, first + batch - 1)
                cursor.execute(GENERATE, {**params, "first": first, "last": last})
                self._progress(started, f"{last:>10,} / {wanted:,} orders")
            for _, definition in indexes:
                cursor.execute(definition)
            self._progress(started, f"{len(indexes)} indexes built again")
            for table, name, definition in foreign_keys:
                cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
            self._progress(started, f"{len(foreign_keys)} foreign keys checked again")
            cursor.execute("ANALYZE orders_order, orders_orderevent, orders_fill")
        self.stdout.write(
            f"Generated {wanted:,} orders with their history and fills in "
            f"{time.monotonic() - started:.1f} s."
        )

    def _progress(self, started: float, text: str) -> None:
        self.stdout.write(f"  {text}  {time.monotonic() - started:6.1f} s")
        self.stdout.flush()

    def _delete(self) -> None:
        self.stdout.write("Deleting the generated history...")
        accounts = list(
            ExchangeAccount.objects.filter(exchange_id__startswith=ACCOUNT_PREFIX).values_list(
                "pk", flat=True
            )
        )
        orders = "SELECT id FROM orders_order WHERE account_id = ANY(%s)"
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM orders_fill WHERE order_id IN ({orders})", [accounts])
            cursor.execute(
                f"DELETE FROM orders_orderevent WHERE order_id IN ({orders})", [accounts]
            )
            cursor.execute("DELETE FROM orders_order WHERE account_id = ANY(%s)", [accounts])
