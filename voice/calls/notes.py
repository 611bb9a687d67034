"""The call's log on the caller's GHL contact: exactly one per call, however many reports or workers. It is a
note, or, when the agency's app has a conversation provider, a Call message in the contact's Conversations.

A worker claims the log with a conditional UPDATE before calling GHL, and looks for the call's page link among
the contact's notes (or conversation messages) before adding one, so a replay, a second worker or a lost answer
finds the first.
"""

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from agencyhub.memo import memo_active, memo_enter, memoized
from integrations.ghl.errors import GhlNotConnectedError, GhlScopeMissing, GhlValidationError
from integrations.ghl.models import ConnectionStatus
from integrations.ghl.selectors import conversation_provider_for_agency
from integrations.ghl.tokens import ghl_client_for
from integrations.http import ProviderError
from voice.models import Booking, Call

logger = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died: the note task's own deadline is 30 s.
CLAIM_STALE_AFTER = timedelta(minutes=5)
# The sweeper leaves a call alone this long after it ended: its own task usually runs first.
SWEEP_AFTER = timedelta(minutes=5)
# After this many attempts the sweeper stops; the call page shows why.
MAX_NOTE_ATTEMPTS = 8
RECONNECT_FOR_SCOPE = (
    "GoHighLevel refused: the connection was not granted the permission this needs ({message}). "
    "Reconnect the client so its admin approves the new permissions."
)


# The call's heaviest columns, which its log never reads: left in the row.
UNREAD = ("transcript", "messages", "cost_breakdown", "transcript_search")


def call_page_url(call: Call) -> str:
    return settings.PUBLIC_BASE_URL + reverse("call_detail", args=[call.agency.slug, call.public_id])


def _note_claim(call_id: int) -> bool:
    """Takes the note for this worker; False when it is added, refused, or another worker holds it."""
    now = timezone.now()
    free = Q(note_claimed_at__isnull=True) | Q(note_claimed_at__lt=now - CLAIM_STALE_AFTER)
    claimed = Call.objects.filter(free, pk=call_id, note_added_at__isnull=True, note_error="").update(
        note_claimed_at=now, note_attempts=F("note_attempts") + 1
    )
    return claimed == 1


def claims_take(model, *, key: str, ids: Iterable[int], set_sql: str, set_params: list, free: str, free_params: list):
    """One conditional UPDATE taking many rows at once; the `key` of each row this worker took (RETURNING), so a
    batch claims its notes or write-backs in one statement with the same guarantee as one claim per row."""
    ids = sorted(set(ids))
    if not ids:
        return set()
    marks = ", ".join(["%s"] * len(ids))
    # Only the callers' own column names go into the text; every value is a bound parameter.
    sql = f"UPDATE {model._meta.db_table} SET {set_sql} WHERE {key} IN ({marks}) AND {free} RETURNING {key}"  # noqa: S608
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(p) if isinstance(p, datetime) else p for p in [*set_params, *ids, *free_params]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def notes_claim(call_ids: Iterable[int], now: datetime) -> set[int]:
    """_note_claim for many calls in one UPDATE: the ones this worker took (with a summary and a client, neither
    added nor refused, free or held by a dead worker)."""
    return claims_take(
        Call,
        key="id",
        ids=call_ids,
        set_sql="note_claimed_at = %s, note_attempts = note_attempts + 1",
        set_params=[now],
        free="note_added_at IS NULL AND note_error = '' AND summary <> '' AND client_id IS NOT NULL"
        " AND (note_claimed_at IS NULL OR note_claimed_at < %s)",
        free_params=[now - CLAIM_STALE_AFTER],
    )


def _note_finish(call_id: int, **fields) -> None:
    Call.objects.filter(pk=call_id).update(note_claimed_at=None, **fields)


class Finishes:
    """The finishing UPDATEs of a batch's claims, collected and written at flush as one UPDATE per set of columns
    written: a column every row gives the same value is set plainly, one whose values differ (a write-back's
    contact, tags and fields) by a CASE on the row's key. `fixed(fields, now)` gives the columns every finish
    writes beside its own (the claim released), `now` being the flush's; `only`, which rows it may write."""

    def __init__(self, model, key: str, fixed, *, only: Q | None = None):
        self.model, self.key, self.fixed, self.rows = model, key, fixed, []
        self.only = only or Q()  # the rows it may write (for outcomes recorded without a claim)

    def __call__(self, row_id: int, **fields) -> None:
        self.rows.append((row_id, fields))

    def flush(self) -> None:
        now, grouped = timezone.now(), {}
        for row_id, fields in self.rows:
            values = {**self.fixed(fields, now), **fields}
            grouped.setdefault(tuple(sorted(values)), []).append((row_id, values))
        for columns, rows in grouped.items():
            ids = [row_id for row_id, _ in rows]
            update = {column: self._value(column, rows) for column in columns}
            self.model.objects.filter(self.only, **{f"{self.key}__in": ids}).update(**update)
        self.rows = []

    def _value(self, column: str, rows: list):
        first = rows[0][1][column]
        if all(_same(values[column], first) for _, values in rows):
            return first
        field = self.model._meta.get_field(column)
        # As QuerySet.bulk_update writes per-row values: a CASE on the key, cast to the column's type.
        whens = [
            When(
                **{self.key: row_id},
                then=v if hasattr(v := values[column], "resolve_expression") else Value(v, output_field=field),
            )
            for row_id, values in rows
        ]
        case = Case(*whens, output_field=field)
        return Cast(case, output_field=field) if connection.features.requires_casted_case_in_updates else case


def _same(a, b) -> bool:
    """Equal values of the same type (1 and True, or an F() and a value, are not the same value to write)."""
    return type(a) is type(b) and a == b


@contextmanager
def ghl_client_known(*, client_id: int, deadline_seconds: float) -> Iterator:
    """ghl_client_for, except that within a memo_scope (a follow-up batch) each client's GHL client is opened once
    (its connection read, its token checked, its HTTP client built) and kept for the batch's other calls, each
    of which gets its own deadline and its own token renewal as a new client would; and a client found not
    connected is not asked again: its other calls get the same GhlNotConnectedError without a query."""
    if not memo_active():
        with ghl_client_for(client_id=client_id, deadline_seconds=deadline_seconds) as ghl:
            yield ghl
        return
    known = memoized(("ghl_not_connected", client_id), dict)
    if "error" in known:
        raise known["error"]
    try:
        ghl = memo_enter(
            ("ghl_client", client_id),
            lambda: ghl_client_for(client_id=client_id, deadline_seconds=deadline_seconds),
        )
        ghl.rearm(deadline_seconds=deadline_seconds)
        yield ghl
    except GhlNotConnectedError as exc:
        known["error"] = exc
        raise


def ghl_connected(client_id: int) -> bool:
    """Within a follow-up batch: False when the client has no usable GHL connection (its calls' logs need not
    be claimed: there is nothing to write them to yet, and the sweeper writes them once it is connected). The
    client opened here is the one its calls then use. Any other failure is left to each call's own attempt."""
    try:
        with ghl_client_known(client_id=client_id, deadline_seconds=30):
            return True
    except GhlNotConnectedError:
        return False
    except Exception:  # noqa: BLE001 - each call meets it again in its own attempt, which retries it alone
        return True


def booked_contacts_batch(call_ids: Iterable[int]) -> None:
    """Within a follow-up batch: the calls whose booked contact booked_contact_id reads for all of them in one
    query, the first time one is needed."""
    memoized(("booked_contacts",), dict)["ids"] = list(call_ids)


def booked_contact_id(call: Call) -> str:
    """The GHL contact the assistant booked the caller as ("" when none): the call's first booking (by id)
    that has one. Within a follow-up batch, the batch's calls' bookings are read in one query."""
    batch = memoized(("booked_contacts",), dict)
    if call.pk not in batch.get("ids", ()):
        booking = call.bookings.exclude(ghl_contact_id="").order_by("pk").first()
        return booking.ghl_contact_id if booking else ""
    if "found" not in batch:
        found: dict[int, str] = {}
        rows = (
            Booking.objects.filter(call_id__in=batch["ids"])
            .exclude(ghl_contact_id="")
            .order_by("call_id", "pk")
            .values_list("call_id", "ghl_contact_id")
        )
        for call_id, contact_id in rows:
            found.setdefault(call_id, contact_id)
        batch["found"] = found
    return batch["found"].get(call.pk, "")


def _contact_id(ghl, call: Call) -> str:
    booked = booked_contact_id(call)
    if booked:
        return booked
    if not call.caller_number:
        return ""
    found = ghl.find_contact_by_phone(location_id=ghl.location_id, phone=call.caller_number)
    return (found.get("contact") or {}).get("id", "")


def _call_text(call: Call, page: str) -> str:
    minutes = timedelta(seconds=call.duration_seconds or 0)
    recording = f"\nRecording: {call.recording_url}" if call.recording_url else ""
    return f"AI receptionist call ({minutes}): {call.summary}\n{recording}\nTranscript and call page: {page}"


def _conversation_log(ghl, call: Call, *, contact_id: str, provider_id: str, page: str) -> None:
    """Logs the call as an inbound Call message in the contact's conversation, unless it is there already."""
    found = (ghl.contact_conversation(location_id=ghl.location_id, contact_id=contact_id) or {}).get("conversations")
    if found:
        conversation_id = found[0]["id"]
        listed = ghl.conversation_messages(conversation_id=conversation_id)
        if any(page in str(message.get("body") or "") for message in listed):
            return  # an earlier attempt logged it and its answer was lost
    else:
        conversation_id = ghl.create_conversation(location_id=ghl.location_id, contact_id=contact_id)["conversation"]
        conversation_id = conversation_id["id"]
    ghl.log_inbound_call(
        conversation_id=conversation_id,
        contact_id=contact_id,
        conversation_provider_id=provider_id,
        message=_call_text(call, page),
        caller=call.caller_number,
        attachments=[call.recording_url] if call.recording_url else None,
        date=call.started_at.isoformat() if call.started_at else None,
    )


def _note_send(call: Call) -> tuple[str, str]:
    """Logs the call unless the contact has it already; returns (why it cannot be logged or "", the channel)."""
    page = call_page_url(call)
    # Asked once per agency within a follow-up task of many calls (agencyhub.memo).
    provider_id = memoized(
        ("conversation_provider", call.agency_id), lambda: conversation_provider_for_agency(agency=call.agency)
    )
    channel = "conversation" if provider_id else "note"
    with ghl_client_known(client_id=call.client_id, deadline_seconds=30) as ghl:
        contact_id = _contact_id(ghl, call)
        if not contact_id:
            return "No GoHighLevel contact has the caller's number.", channel
        if provider_id:
            _conversation_log(ghl, call, contact_id=contact_id, provider_id=provider_id, page=page)
            return "", channel
        notes = (ghl.contact_notes(contact_id=contact_id) or {}).get("notes") or []
        if any(page in str(note.get("body") or "") for note in notes):
            return "", channel  # an earlier attempt added it and its answer was lost
        ghl.add_contact_note(contact_id=contact_id, body=_call_text(call, page))
    return "", channel


def call_note_add(*, call_id: int) -> bool:
    """Adds the call's summary and a link to its page to the caller's GHL contact, once. Raises ProviderError
    for a failure worth retrying (the claim is released first); records one that is not."""
    call = Call.objects.select_related("agency", "client").defer(*UNREAD).filter(pk=call_id).first()
    if call is None or call.note_added_at or not call.summary or call.client is None:
        return False
    if not _note_claim(call.pk):
        return False
    return note_claimed_send(call)


def note_claimed_send(call: Call, finish=_note_finish) -> bool:
    """The rest of call_note_add once this worker holds the call's claim; `finish` releases it (a Finishes in a
    batch). Raises ProviderError (after releasing the claim) for a failure worth retrying."""
    try:
        problem, channel = _note_send(call)
    except GhlNotConnectedError:
        finish(call.pk)
        return False  # no GHL to write to; the sweeper only looks at connected clients
    except GhlScopeMissing as exc:
        # Asking again cannot help until the client's admin approves the scope: recorded, shown on the call page.
        logger.warning("The GHL log of call %s needs a scope the connection lacks: %s", call.vapi_call_id, exc)
        finish(call.pk, note_error=RECONNECT_FOR_SCOPE.format(message=exc.message)[:2000])
        return False
    except GhlValidationError as exc:
        # GHL refused the note itself (a 400/422): sending it again would be refused again.
        logger.warning("GHL refused the note of call %s: %s", call.vapi_call_id, exc)
        finish(call.pk, note_error=f"GoHighLevel refused the note: {exc}"[:2000])
        return False
    except ProviderError as exc:
        attempts = Call.objects.filter(pk=call.pk).values_list("note_attempts", flat=True).first() or 0
        gave_up = {"note_error": f"Gave up after {attempts} attempts: {exc}"[:2000]}
        finish(call.pk, **(gave_up if attempts >= MAX_NOTE_ATTEMPTS else {}))
        raise
    if problem:
        finish(call.pk, note_error=problem)
        return False
    finish(call.pk, note_added_at=timezone.now(), note_error="", note_channel=channel)
    return True


def calls_missing_notes(*, now=None) -> list[int]:
    """Ended calls with a summary whose note is neither added nor refused, for a connected client, left alone
    long enough that their own task had its chance."""
    now = now or timezone.now()
    return list(
        Call.objects.filter(
            Q(note_claimed_at__isnull=True) | Q(note_claimed_at__lt=now - CLAIM_STALE_AFTER),
            status="ended",
            note_added_at__isnull=True,
            note_error="",
            note_attempts__lt=MAX_NOTE_ATTEMPTS,
            client__ghl_connection__status=ConnectionStatus.CONNECTED,
            updated_at__lt=now - SWEEP_AFTER,
        )
        .exclude(summary="")
        .order_by("updated_at")
        .values_list("pk", flat=True)[:500]
    )
