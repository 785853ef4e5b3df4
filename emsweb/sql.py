"""A few statements of the order path written by hand, built once from the models' own field
definitions: several writes or locks in one round trip, which the ORM cannot express, and the
reads every routed order makes, whose compiling cost the ORM more CPU than running them
(bench/README.md)."""

from __future__ import annotations

from functools import cache

from django.db import connections
from django.db.models import Model
from django.db.models.sql import InsertQuery


def insert_returning_id(connection, obj: Model) -> tuple[str, tuple]:
    """The INSERT that obj.save() would run for a new row, returning its id: the statement
    built once per model, the values prepared as the ORM prepares them."""
    fields, sql = _insert(connection.vendor, type(obj))
    values = [field.pre_save(obj, True) for field in fields]
    if any(hasattr(value, "resolve_expression") for value in values):
        return _insert_compiled(connection, obj, fields)  # an expression: the ORM's to compile
    params = zip(fields, values, strict=True)
    return sql, tuple(field.get_db_prep_save(value, connection) for field, value in params)


def insert(obj: Model, *, using: str = "default") -> None:
    """obj.save(force_insert=True) for a new row (no signals: emsweb has no receivers), with the
    statement built once per model instead of compiled per row."""
    connection = connections[using]
    sql, params = insert_returning_id(connection, obj)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding, obj._state.db = False, using


@cache
def _insert(vendor: str, model: type[Model]) -> tuple[list, str]:
    connection = next(c for c in connections.all() if c.vendor == vendor)
    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(f.column) for f in fields)})"
        f" VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {table}.{quote(meta.pk.column)}"
    )
    return fields, sql


def _insert_compiled(connection, obj: Model, fields: list) -> tuple[str, tuple]:
    query = InsertQuery(type(obj))
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [obj._meta.pk]
    [(sql, params)] = compiler.as_sql()
    return sql, tuple(params)


def columns(connection, model: type[Model], alias: str) -> str:
    """The model's columns, as `alias`."column", in the order loaded() reads them."""
    return _columns(connection.vendor, model, alias)


@cache
def _columns(vendor: str, model: type[Model], alias: str) -> str:
    quote = next(c for c in connections.all() if c.vendor == vendor).ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def loaded(connection, model: type[Model], values) -> Model:
    """An instance from a row of columns(), converted as a queryset converts it."""
    converted = [
        _convert(value, column, converters, connection)
        for value, (column, converters) in zip(values, _converters(connection, model), strict=True)
    ]
    return model.from_db(connection.alias, _attnames(model), converted)


def one(model: type[Model], column: str, value, *, related: tuple[str, ...] = (), using="default"):
    """model.objects.select_related(*related).get(<column>=value), on a unique `column`, in one
    statement built once per process; None when there is no such row."""
    connection = connections[using]
    sql, splits = _select_one(connection.vendor, model, column, related)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        row = cursor.fetchone()
    if row is None:
        return None
    instance = loaded(connection, model, row[: splits[0]])
    for name, start, end in zip(related, splits, splits[1:], strict=False):
        field = model._meta.get_field(name)
        field.set_cached_value(instance, loaded(connection, field.related_model, row[start:end]))
    return instance


@cache
def _select_one(vendor: str, model: type[Model], column: str, related: tuple[str, ...]):
    connection = next(c for c in connections.all() if c.vendor == vendor)
    quote = connection.ops.quote_name
    selected, joins, splits = [columns(connection, model, "t0")], [], [_width(model)]
    for n, name in enumerate(related, start=1):
        field = model._meta.get_field(name)
        target = field.related_model
        selected.append(columns(connection, target, f"t{n}"))
        joins.append(
            f" JOIN {quote(target._meta.db_table)} t{n}"
            f" ON t{n}.{quote(field.target_field.column)} = t0.{quote(field.column)}"
        )
        splits.append(splits[-1] + _width(target))
    sql = (
        f"SELECT {', '.join(selected)} FROM {quote(model._meta.db_table)} t0{''.join(joins)}"
        f" WHERE t0.{quote(column)} = %s"
    )
    return sql, tuple(splits)


def _width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


@cache
def _attnames(model: type[Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _converters(connection, model: type[Model]) -> list[tuple]:
    """Each column's expression and its converters, as the compiler finds them; once per
    connection and model."""
    key = (connection.alias, model)
    if key not in _CONVERTERS:
        table = model._meta.db_table
        _CONVERTERS[key] = [
            (
                column := f.get_col(table),
                [*connection.ops.get_db_converters(column), *f.get_db_converters(connection)],
            )
            for f in model._meta.concrete_fields
        ]
    return _CONVERTERS[key]


_CONVERTERS: dict = {}


def _convert(value, column, converters, connection):
    for converter in converters:
        value = converter(value, column, connection)
    return value
