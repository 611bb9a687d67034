"""How the inbox writes an event's row: one INSERT whether the event is new or a repeat (ON CONFLICT), conditional
on another row where the caller asks (StoredIf: the check rides in the same statement), its body as it was written
once (redaction.StoredBody)."""

import json
from dataclasses import dataclass
from functools import lru_cache

from django.db import connections, router
from django.db.models import Model

from agencyhub.postgresql.health import inserted_row

from .models import WebhookEvent
from .redaction import StoredBody


@dataclass(frozen=True)
class StoredIf:
    """The row a store is conditional on: `model`'s row whose fields hold exactly `fields`, checked by the INSERT
    itself (no query of its own while the row is there)."""

    model: type[Model]
    fields: dict

    def holds(self) -> bool:
        """Whether the row is there now: asked only when the INSERT wrote nothing (a repeat, or the row gone)."""
        return self.model._default_manager.filter(**self.fields).exists()


class ConditionGone(Exception):
    """webhook_store's `only_if` row is not there (any more): nothing was stored."""


def event_inserted(event: WebhookEvent, *, body: StoredBody, only_if: StoredIf | None = None) -> bool:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING id: no SELECT first and no savepoint, whether the
    key is new or a repeat; with `only_if`, INSERT ... SELECT ... WHERE EXISTS (that row), still one statement.
    The body goes as the text it was written as (`body`). Sets event.pk and returns True when the row is new.

    Written in SQL from the models' _meta: bulk_create(ignore_conflicts=True) does not say whether it inserted."""
    connection = connections[router.db_for_write(WebhookEvent)]
    condition = None if only_if is None else (only_if.model, tuple(only_if.fields))
    statement = _statement(connection.alias, condition)
    values = [
        connection.ops.adapt_json_value(body, _AsWritten)
        if f.attname == "body"
        else None
        if (value := f.pre_save(event, add=True)) is None  # NULL whatever the field: its preparation is skipped
        else f.get_db_prep_save(value, connection)
        for f in statement.fields
    ]
    if only_if is not None:
        values += [field.get_db_prep_value(only_if.fields[name], connection) for name, field in statement.condition]
    row = inserted_row(connection, statement.sql, values, what="the webhook")
    if row is None:
        return False
    event.pk = row[0]
    return True


@dataclass(frozen=True)
class _Statement:
    sql: str
    fields: tuple  # the event's columns, in the order of their placeholders
    condition: tuple = ()  # then the only_if row's (name, field), in theirs


@lru_cache(maxsize=64)
def _statement(alias: str, condition: tuple[type[Model], tuple[str, ...]] | None) -> _Statement:
    """The INSERT for a connection and a kind of condition (its model and field names), written once per process."""
    connection = connections[alias]
    meta, quote = WebhookEvent._meta, connection.ops.quote_name
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    columns, placeholders = ", ".join(quote(f.column) for f in fields), ", ".join(["%s"] * len(fields))
    rows, matched = f"VALUES ({placeholders})", ()
    if condition is not None:
        model, names = condition
        matched = tuple((name, model._meta.get_field(name)) for name in names)
        matches = " AND ".join(f"{quote(field.column)} = %s" for _, field in matched)
        rows = f"SELECT {placeholders} WHERE EXISTS (SELECT 1 FROM {quote(model._meta.db_table)} WHERE {matches})"  # noqa: S608
    # Table and column names come from the models, the values go as parameters.
    sql = f"INSERT INTO {table} ({columns}) {rows} ON CONFLICT DO NOTHING RETURNING {pk}"
    return _Statement(sql, fields, matched)


class _AsWritten(json.JSONEncoder):
    """Encodes a StoredBody as the text it was written as, where the database adapter would write it again."""

    def encode(self, o):
        return o.text if isinstance(o, StoredBody) else super().encode(o)
