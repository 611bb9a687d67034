"""How the inbox writes an event's row: one INSERT whether the event is new or a repeat (ON CONFLICT), conditional
on another row where the caller asks (StoredIf: the check rides in the same statement), its body as it was written
once (redaction.StoredBody)."""

import json
from dataclasses import dataclass

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
    meta, quote = WebhookEvent._meta, connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values = [
        connection.ops.adapt_json_value(body, _AsWritten)
        if f.attname == "body"
        else f.get_db_prep_save(f.pre_save(event, add=True), connection)
        for f in fields
    ]
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    columns, placeholders = ", ".join(quote(f.column) for f in fields), ", ".join(["%s"] * len(fields))
    # Table and column names come from the models, the values go as parameters.
    if only_if is None:
        rows = f"VALUES ({placeholders})"
    else:
        condition_meta = only_if.model._meta
        condition = [(condition_meta.get_field(name), value) for name, value in only_if.fields.items()]
        matches = " AND ".join(f"{quote(field.column)} = %s" for field, _ in condition)
        rows = f"SELECT {placeholders} WHERE EXISTS (SELECT 1 FROM {quote(condition_meta.db_table)} WHERE {matches})"  # noqa: S608
        values += [field.get_db_prep_value(value, connection) for field, value in condition]
    sql = f"INSERT INTO {table} ({columns}) {rows} ON CONFLICT DO NOTHING RETURNING {pk}"
    row = inserted_row(connection, sql, values, what="the webhook")
    if row is None:
        return False
    event.pk = row[0]
    return True


class _AsWritten(json.JSONEncoder):
    """Encodes a StoredBody as the text it was written as, where the database adapter would write it again."""

    def encode(self, o):
        return o.text if isinstance(o, StoredBody) else super().encode(o)
