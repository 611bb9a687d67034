import json
from datetime import datetime

from django.db import connection

from voice.models import Call, ToolCallRecord


def tool_call_record_write(
    *,
    call_match: tuple[str, list],
    invocation,
    result: str,
    error: str,
    elapsed_ms: int,
    asked_at: datetime,
    details: dict | None = None,
) -> bool:
    """Writes (or rewrites, for a repeated tool call) the record in one statement that also finds the call.

    `call_match` is the WHERE clause on the call table (alias c) and its parameters; False when no call
    matched and nothing was written.
    """
    where, where_params = call_match
    postgres = connection.vendor == "postgresql"
    durability, joined = "", ""
    if postgres and not connection.in_atomic_block:
        # An audit row, not a booking: committing it without waiting for the WAL flush risks at most the last
        # fraction of a second of tool-call logs on a server crash. Only this statement's own transaction is
        # affected (autocommit); bookings are written in their own, fully durable transactions.
        durability = "WITH durability AS (SELECT set_config('synchronous_commit', 'off', true)) "
        joined = ", durability"
    record, call = ToolCallRecord._meta.db_table, Call._meta.db_table
    jsonb = "%s::jsonb" if postgres else "%s"
    # Only this module's fixed clauses and table names are interpolated; every value is a parameter.
    sql = (
        f"{durability}INSERT INTO {record} "  # noqa: S608
        "(call_id, tool_call_id, name, arguments, result, error, duration_ms, details, created_at) "
        f"SELECT c.id, %s, %s, {jsonb}, %s, %s, %s, {jsonb}, %s FROM {call} c{joined} "
        f"WHERE {where} "
        "ON CONFLICT (call_id, tool_call_id) DO UPDATE SET name = excluded.name, arguments = excluded.arguments, "
        "result = excluded.result, error = excluded.error, duration_ms = excluded.duration_ms, "
        # A repeated tool call hears the first outcome again and explains nothing new: keep the first details.
        f"details = COALESCE(NULLIF(excluded.details, {jsonb}), {record}.details) RETURNING id"
    )
    params = [
        invocation.id[:100],
        invocation.name[:64],
        json.dumps(invocation.arguments),
        result,
        error,
        elapsed_ms,
        json.dumps(details or {}),
        connection.ops.adapt_datetimefield_value(asked_at),
        *where_params,
        "{}",
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None
