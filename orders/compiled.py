"""Reads on the order path as PostgreSQL statements compiled once per process and run many
times: for the small reads every order makes, the ORM's compile costs more CPU than the
database takes to run them (bench/README.md).

`Compiled` is a values() query's SQL, its parameters and its columns' converters, to send on a
cursor (alone, or in a batch of statements) and read back as the ORM would. `Prepared` builds a
query once with marker values where the real ones go, and runs its SQL with the real values in
their places. `values_cursor` reads times with psycopg's own parser.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from psycopg import adapters
from psycopg.pq import Format

_TIMESTAMPTZ_LOADER = adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)


@contextmanager
def values_cursor():
    """A cursor that reads times with psycopg's parser, written in C, instead of Django's
    subclass of its Python one (which only sets the zone): a tenth of the CPU per value. Both
    give the session's zone, which Django sets to the connection's when it connects."""
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", _TIMESTAMPTZ_LOADER)
        yield cursor


class Compiled:
    """A values() query's SQL and parameters, and its columns' converters (a JSON field's
    parsing, say), as the ORM would apply them."""

    def __init__(self, query: QuerySet):
        compiler = query.query.get_compiler(connection=connection)
        self.sql, self.params = compiler.as_sql()
        fields = [select[0] for select in compiler.select[: compiler.col_count]]
        self.converters = compiler.get_converters(fields)
        # As ValuesIterable names them.
        sql_query = query.query
        self.names = list(sql_query.selected or ()) or [
            *sql_query.extra_select,
            *sql_query.values_select,
            *sql_query.annotation_select,
        ]

    def rows(self, cursor) -> list[list]:
        rows = [list(row) for row in cursor.fetchall()]
        for position, (functions, expression) in self.converters.items():
            for row in rows:
                for function in functions:
                    row[position] = function(row[position], expression, connection)
        return rows

    def dicts(self, cursor) -> list[dict]:
        """The rows as values() gives them, named (without the columns an ordering added)."""
        return [dict(zip(self.names, row, strict=False)) for row in self.rows(cursor)]


class Prepared:
    """The values() query that `build(**values)` returns, compiled once (on PostgreSQL) with
    `markers` for the values, and run with the real ones where the markers were. A marker must
    be a value of the same type the real one has, and unlike any constant of the query."""

    def __init__(self, build: Callable[..., QuerySet], **markers: Any):
        self.build = build
        self.markers = markers
        self._compiled: tuple[Compiled, list[str | None]] | None = None

    def dicts(self, **values: Any) -> list[dict]:
        if connection.vendor != "postgresql":
            return list(self.build(**values))
        compiled, slots = self._compiled or self._compile()
        params = [
            values[slot] if slot is not None else constant
            for slot, constant in zip(slots, compiled.params, strict=True)
        ]
        with values_cursor() as cursor:
            cursor.execute(compiled.sql, params)
            return compiled.dicts(cursor)

    def _compile(self) -> tuple[Compiled, list[str | None]]:
        compiled = Compiled(self.build(**self.markers))
        slots = [self._slot(param) for param in compiled.params]
        unused = set(self.markers) - set(slots)
        if unused:
            raise ValueError(f"The query does not take {sorted(unused)} as parameters")
        self._compiled = compiled, slots
        return self._compiled

    def _slot(self, param: Any) -> str | None:
        """The marker that `param` is, or None for a constant of the query."""
        named = [
            name
            for name, marker in self.markers.items()
            if type(param) is type(marker) and param == marker
        ]
        if len(named) > 1:
            raise ValueError(f"Markers {named} are equal: give each its own value")
        return named[0] if named else None
