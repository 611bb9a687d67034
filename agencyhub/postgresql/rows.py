"""Many rows of one table written in one statement, each with its own values."""

from django.db import models

from agencyhub.jsontext import json_text

from .binding import bound_cursor

try:
    from psycopg.types.json import Jsonb
except ImportError:  # no psycopg: never PostgreSQL
    Jsonb = None


def rows_update(connection, model: type[models.Model], names: list[str], objs: list[models.Model]) -> None:
    """Writes each of `objs` (saved rows of `model`) with its own values of the fields `names`, by primary key.

    On PostgreSQL in one statement: `UPDATE ... FROM unnest(<one array per field>)`, the arrays bound on the server
    in binary (`%b`: a call's transcript and messages go as they are, where an array's text form would escape
    every quote in Python). One statement, not one per row: a statement-level trigger (the call rollups',
    voice/migrations) runs once for the batch instead of once per row, and PostgreSQL plans and runs one
    statement (#12: ~0.1 ms less of backend CPU and of wall time per call of a drained batch). Each array is
    cast to its column's type without a length or precision, so assigning it to the column checks them as an
    UPDATE of one row would (a cast to varchar(12) would cut a longer value silently). Django's bulk_update
    would build and compile a CASE over every row for every field instead: ~2 ms of CPU per row in a batch of
    fifty. Elsewhere (SQLite) one UPDATE per row, sent together."""
    if not objs:
        return
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    table, pk = quote(model._meta.db_table), model._meta.pk
    keys = [obj.pk for obj in objs]
    # Only the model's own table, column names and column types are interpolated; every value is a parameter.
    if connection.vendor == "postgresql":
        values = [[_prepared(field, getattr(obj, field.attname), connection) for obj in objs] for field in fields]
        assigned = ", ".join(f"{quote(field.column)} = v.c{n}" for n, field in enumerate(fields))
        arrays = ", ".join(f"%b::{field.db_type(connection).split('(')[0]}[]" for field in [pk, *fields])
        aliases = ", ".join(f"c{n}" for n in range(len(fields)))
        sql = (
            f"UPDATE {table} SET {assigned} FROM unnest({arrays}) AS v(pk, {aliases}) "  # noqa: S608
            f"WHERE {table}.{quote(pk.column)} = v.pk"
        )
        with bound_cursor(connection) as cursor:
            cursor.execute(sql, [keys, *values])
        return
    values = [[field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objs] for field in fields]
    assigned = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {table} SET {assigned} WHERE {quote(pk.column)} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[*row, key] for *row, key in zip(*values, keys, strict=True)])


def _prepared(field: models.Field, value, connection):
    """The value as its column takes it; a JSON field's (without an encoder of its own) written by orjson
    (agencyhub.jsontext), ~10x faster than Django's json.dumps on a call's messages (#12: ~25 us per call)."""
    if isinstance(field, models.JSONField) and field.encoder is None and isinstance(value, dict | list):
        return Jsonb(value, dumps=json_text)
    return field.get_db_prep_save(value, connection)
