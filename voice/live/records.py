"""The tool-call record: the audit line of one tool call (what was asked, answered and noted), per call and
tool call id; and the live path's queue, which also carries the calls that assistant-requests started."""

import json
import logging
from contextlib import suppress
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace

import redis
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from redis.exceptions import LockError, RedisError

from voice.models import Call, ToolCallRecord

logger = logging.getLogger(__name__)


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


# A tool that changed nothing in the world (availability, an unknown tool, a refused argument) leaves an audit
# line that nobody acts on in the call: it is queued in Redis and written to PostgreSQL in batches by a beat
# task, so the caller's answer waits on one RPUSH instead of an INSERT and its commit. A tool that booked,
# moved or cancelled keeps its record with the change, written in the request (booking proof and the change
# reconciler read it by id).
WRITTEN_IN_REQUEST = frozenset({"book_appointment", "reschedule_appointment", "cancel_appointment"})
QUEUE_KEY = "live:tool-call-records"
FLUSH_LOCK_KEY = "live:tool-call-records:flush"
# Records one flush writes in one transaction before it hands over to the next (queued at once while more wait).
FLUSH_BATCH = 1000


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    """One pooled client per process and URL, waiting on Redis no longer than the cache does."""
    timeout = settings.CACHE_SOCKET_TIMEOUT
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def tool_call_record_queue(
    *,
    agency_id: int,
    vapi_call_id: str,
    assistant_id: int | None,
    client_id: int | None,
    caller: str,
    invocation,
    result: str,
    error: str,
    elapsed_ms: int,
    asked_at: datetime,
    details: dict | None = None,
) -> bool:
    """Queues the record for tool_call_records_flush; False when there is no queue or Redis did not take it
    (the caller then writes it at once: a Redis outage never costs the audit trail)."""
    if invocation.name in WRITTEN_IN_REQUEST:
        return False
    entry = {
        **_call_of(agency_id, vapi_call_id, assistant_id, client_id, caller),
        "tool_call_id": invocation.id,
        "name": invocation.name,
        "arguments": invocation.arguments,
        "result": result,
        "error": error,
        "elapsed_ms": elapsed_ms,
        "asked_at": asked_at.isoformat(),
        "details": details or {},
    }
    return _queued(entry, what=f"Tool call {invocation.id}")


def call_start_queue(*, agency_id: int, vapi_call_id: str, assistant_id: int, client_id: int, caller: str) -> bool:
    """Queues the call an assistant-request starts, stored by the next flush (before any record queued after it);
    False when there is no queue or Redis did not take it (the caller then stores it at once).

    The row acknowledges nothing: every later message of the call (stored durably in the inbox) and every tool
    call upserts it too; the flush only makes it appear in the portal before its first status-update does."""
    entry = {
        **_call_of(agency_id, vapi_call_id, assistant_id, client_id, caller),
        "created_at": timezone.now().isoformat(),  # when it started, not when the flush came
    }
    return _queued(entry, what=f"Call {vapi_call_id}")


def _call_of(agency_id: int, vapi_call_id: str, assistant_id: int | None, client_id: int | None, caller: str) -> dict:
    """What a queued entry says of its call: enough for the flush to store the call when it is not stored yet."""
    return {
        "agency_id": agency_id,
        "vapi_call_id": vapi_call_id,
        "assistant_id": assistant_id,
        "client_id": client_id,
        "caller": caller,
    }


def _queued(entry: dict, *, what: str) -> bool:
    url = settings.TOOL_CALL_RECORD_QUEUE_URL
    # Inside a transaction (a simulated call that is rolled back, voice.calltests) the row shares its fate.
    if not url or connection.in_atomic_block:
        return False
    try:
        _redis(url).rpush(QUEUE_KEY, json.dumps(entry, default=str))
    except RedisError as exc:
        logger.warning("%s not queued (%s): written at once", what, type(exc).__name__)
        return False
    return True


def _calls_started(entries: list[dict]) -> None:
    """Stores the queued call starts in one INSERT. A call stored already (its status-update came first) keeps
    what it has and gains the assistant and client when it had none, as an upsert in the request would."""
    if not entries:
        return
    started = {
        (entry["agency_id"], entry["vapi_call_id"]): Call(
            agency_id=entry["agency_id"],
            vapi_call_id=entry["vapi_call_id"],
            assistant_id=entry["assistant_id"],
            client_id=entry["client_id"],
            caller_number=entry["caller"],
            created_at=datetime.fromisoformat(entry["created_at"]),
        )
        for entry in entries
    }
    Call.objects.bulk_create(started.values(), ignore_conflicts=True)
    # Both columns of the unique (agency, call id) index, so it is read at any table size.
    unassigned = Call.objects.filter(
        agency_id__in={agency_id for agency_id, _ in started},
        vapi_call_id__in={call_id for _, call_id in started},
        assistant__isnull=True,
    ).values_list("pk", "agency_id", "vapi_call_id")
    for pk, agency_id, call_id in unassigned:
        if (call := started.get((agency_id, call_id))) is not None:
            Call.objects.filter(pk=pk).update(
                assistant_id=call.assistant_id, client_id=call.client_id, updated_at=timezone.now()
            )


def _queued_write(entry: dict) -> None:
    """Writes one queued record, creating its call first when the call is not stored yet (as the request would)."""
    from tenants.models import Agency
    from voice.calls.services import call_upsert_by_ids

    invocation = SimpleNamespace(id=entry["tool_call_id"], name=entry["name"], arguments=entry["arguments"])
    record = {
        "invocation": invocation,
        "result": entry["result"],
        "error": entry["error"],
        "elapsed_ms": entry["elapsed_ms"],
        "asked_at": datetime.fromisoformat(entry["asked_at"]),
        "details": entry["details"],
    }
    where = "c.agency_id = %s AND c.vapi_call_id = %s" + (
        " AND c.assistant_id IS NOT NULL" if entry["assistant_id"] else ""
    )
    if tool_call_record_write(call_match=(where, [entry["agency_id"], entry["vapi_call_id"]]), **record):
        return
    agency = Agency.objects.filter(pk=entry["agency_id"]).first()
    if agency is None:
        return  # deleted since: nothing left to audit
    message = {"call": {"id": entry["vapi_call_id"], "customer": {"number": entry["caller"]}}}
    call = call_upsert_by_ids(
        agency=agency, message=message, assistant_id=entry["assistant_id"], client_id=entry["client_id"]
    )
    tool_call_record_write(call_match=("c.id = %s", [call.pk]), **record)


def tool_call_records_flush(*, limit: int = FLUSH_BATCH) -> int:
    """Writes queued records and call starts, oldest first, in one transaction, under a lock (one flusher at a
    time); they leave the queue only once committed, and a flush repeated after a crash rewrites the same rows
    (the record is unique per call and tool call id, the call per agency and call id). One the database refuses
    (not an outage) is logged and skipped rather than holding up the rest. Returns how many were taken off the
    queue."""
    url = settings.TOOL_CALL_RECORD_QUEUE_URL
    if not url:
        return 0
    client = _redis(url)
    lock = client.lock(FLUSH_LOCK_KEY, timeout=300)
    if not lock.acquire(blocking=False):
        return 0
    try:
        entries = [json.loads(raw) for raw in client.lrange(QUEUE_KEY, 0, limit - 1)]
        if not entries:
            return 0
        try:
            with transaction.atomic():
                # The batch's calls first: a record queued after its call start finds it.
                _calls_started([entry for entry in entries if "tool_call_id" not in entry])
                for entry in entries:
                    if "tool_call_id" in entry:
                        _queued_write(entry)
        except (OperationalError, InterfaceError):
            raise  # the database is unreachable: everything stays queued for the next flush
        except DatabaseError:
            for entry in entries:
                try:
                    with transaction.atomic():
                        if "tool_call_id" in entry:
                            _queued_write(entry)
                        else:
                            _calls_started([entry])
                except (OperationalError, InterfaceError):
                    raise
                except DatabaseError:
                    what = entry.get("tool_call_id") or f"call start {entry['vapi_call_id']}"
                    logger.exception("Queued %s refused by the database: skipped", what)
        client.ltrim(QUEUE_KEY, len(entries), -1)
    finally:
        with suppress(LockError):
            lock.release()
    logger.info("%s queued tool call records and call starts written", len(entries))
    return len(entries)
