import uuid
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.postgres.search import SearchQuery
from django.db import connections
from django.db.models import F, Q, QuerySet
from django.http import Http404

from integrations.ghl.selectors import ghl_location_for_client
from tenants.models import Agency, ClientAccount
from voice.calls.ended_reasons import ended_reason_text
from voice.calls.report import cost_rows, cost_total, key_value_rows, success_verdict
from voice.calls.transcripts import clock, conversation_turns, tool_call_seconds, tool_words
from voice.models import (
    MADE_BOOKING_STATUSES,
    Assistant,
    Booking,
    Call,
    ToolCallRecord,
)
from voice.paging import SortKey


def _call_or_404(calls: QuerySet[Call], public_id) -> Call:
    call = calls.filter(public_id=public_id).select_related("client", "assistant", "agency").first()
    if call is None:
        raise Http404("No such call.")
    return call


def call_for_agency(*, agency: Agency, public_id) -> Call:
    return _call_or_404(Call.objects.filter(agency=agency), public_id)


@dataclass(frozen=True)
class CallFilters:
    """What a person narrowed the calls to; dates are whole days in `time_zone`. JSON round-trips for tasks."""

    client_id: str = ""
    assistant_id: str = ""
    date_from: date | None = None
    date_to: date | None = None
    time_zone: str = "UTC"
    outcome: str = ""
    ended_reason: str = ""
    duration: str = ""
    q: str = ""
    sort: str = "newest"

    def as_params(self) -> dict:
        params = asdict(self)
        for key in ("date_from", "date_to"):
            params[key] = params[key].isoformat() if params[key] else None
        return params

    @classmethod
    def from_params(cls, params: dict) -> "CallFilters":
        values = {f.name: params[f.name] for f in fields(cls) if params.get(f.name) is not None}
        for key in ("date_from", "date_to"):
            if key in values:
                values[key] = date.fromisoformat(values[key])
        return cls(**values)


# A picker offers this many clients (or assistants) matching what was typed: page weight stays the same at
# 2,000 clients and as many assistants.
PICKED_CLIENTS = 20
PICKED_ASSISTANTS = PICKED_CLIENTS


def _picked(rows: QuerySet, matching: list, selected: str) -> list:
    """The chosen row first when it is not among `matching` (a chosen filter stays shown), then `matching`."""
    if not selected or any(str(row.public_id) == selected for row in matching):
        return matching
    try:
        return list(rows.filter(public_id=uuid.UUID(selected))) + matching
    except ValueError:
        return matching


def client_picker_choices(*, agency: Agency, selected: str = "", q: str = "") -> list[ClientAccount]:
    """The chosen client (kept even when it does not match) and the first PICKED_CLIENTS whose name has `q`."""
    clients = ClientAccount.objects.filter(agency=agency).only("public_id", "name", "time_zone")
    matching = list(clients.filter(name__icontains=q.strip()).order_by("name", "pk")[:PICKED_CLIENTS])
    return _picked(clients, matching, selected)


def assistant_picker_choices(*, agency: Agency, selected: str = "", q: str = "") -> list[Assistant]:
    """The chosen assistant (kept even when it does not match) and the first PICKED_ASSISTANTS whose name or
    client's name has `q`, by client then name: each option reads "assistant · client"."""
    assistants = (
        Assistant.objects.filter(client__agency=agency)
        .select_related("client")
        .only("public_id", "name", "client__name")
    )
    text = q.strip()
    matching = assistants.filter(Q(name__icontains=text) | Q(client__name__icontains=text)) if text else assistants
    return _picked(assistants, list(matching.order_by("client__name", "name", "pk")[:PICKED_ASSISTANTS]), selected)


def _calls_filtered(calls: QuerySet[Call], filters: CallFilters) -> QuerySet[Call]:
    if filters.client_id:
        calls = calls.filter(client__public_id=filters.client_id)
    if filters.assistant_id:
        calls = calls.filter(assistant__public_id=filters.assistant_id)
    zone = ZoneInfo(filters.time_zone)
    if filters.date_from:
        calls = calls.filter(started_at__gte=datetime.combine(filters.date_from, time.min, tzinfo=zone))
    if filters.date_to:
        day_after = filters.date_to + timedelta(days=1)
        calls = calls.filter(started_at__lt=datetime.combine(day_after, time.min, tzinfo=zone))
    if filters.outcome:
        calls = calls.filter(outcome=filters.outcome)
    if filters.ended_reason:
        calls = calls.filter(ended_reason__startswith=filters.ended_reason)
    if filters.duration in DURATION_BUCKETS:
        low, high = DURATION_BUCKETS[filters.duration]
        calls = calls.filter(duration_seconds__gte=low)
        if high is not None:
            calls = calls.filter(duration_seconds__lt=high)
    if filters.q:
        calls = _calls_matching(calls, filters.q)
    return calls.order_by(*call_sort(filters).ordering())


def call_sort(filters: CallFilters) -> SortKey:
    return CALL_SORTS.get(filters.sort, CALL_SORTS["newest"])


def _calls_matching(calls: QuerySet[Call], text: str) -> QuerySet[Call]:
    """Full-text search of the stored tsvector on PostgreSQL (GIN-indexed, migration 0012); substring elsewhere."""
    if connections[calls.db].vendor == "postgresql":
        return calls.filter(transcript_search=SearchQuery(text, search_type="websearch", config="english"))
    return calls.filter(transcript__icontains=text)


def call_list(*, agency: Agency, filters: CallFilters | None = None) -> QuerySet[Call]:
    calls = _calls_filtered(Call.objects.filter(agency=agency), filters or CallFilters())
    return calls.select_related("client", "assistant")


def client_call_list(*, client: ClientAccount, filters: CallFilters | None = None) -> QuerySet[Call]:
    """One client's calls, for its own portal: the client and assistant filters do not apply there."""
    filters = replace(filters or CallFilters(), client_id="", assistant_id="")
    calls = _calls_filtered(Call.objects.filter(agency_id=client.agency_id, client=client), filters)
    return calls.select_related("client", "assistant")


# What a row of the calls list shows. The rest of a call (transcript, messages, search vector: ~3 KB, most of
# it TOASTed and read back per row) and the assistant's prompt stay in the database.
CALL_ROW_FIELDS = (
    "public_id",
    "client__public_id",
    "client__name",
    "client__time_zone",
    "assistant__public_id",
    "assistant__name",
    "caller_number",
    "status",
    "started_at",
    "created_at",
    "duration_seconds",
    "ended_reason",
    "outcome",
    "cost",
    "recording_url",
)


def call_rows(calls: QuerySet[Call]) -> QuerySet[Call]:
    """The calls list's rows of `calls` (call_list or client_call_list), with only what a row shows."""
    return calls.only(*CALL_ROW_FIELDS)


def call_for_client(*, client: ClientAccount, public_id) -> Call:
    return _call_or_404(Call.objects.filter(client=client), public_id)


@dataclass(frozen=True)
class ToolStep:
    """One tool call on the call page's timeline."""

    record: ToolCallRecord
    title: str
    arguments: list[tuple[str, str]]
    seconds: float | None

    @property
    def at(self) -> str:
        return clock(self.seconds)


@dataclass(frozen=True)
class BookingRow:
    booking: Booking
    contact_url: str


def _ghl_location_id(*, client: ClientAccount | None) -> str:
    if client is None:
        return ""
    location = ghl_location_for_client(client_id=client.pk)
    return location.location_id if location and not location.is_disconnected else ""


def _web_url(url: str) -> str:
    # Stored from a payload without validation; only http(s) may reach a src or href.
    return url if url.startswith(("https://", "http://")) else ""


def call_page(*, call: Call, with_costs: bool) -> dict:
    """Everything the call page shows, in a fixed number of queries whatever the call holds."""
    every_booking = list(call.bookings.order_by("start", "pk"))
    bookings = [b for b in every_booking if b.status in MADE_BOOKING_STATUSES]
    # Attempts that failed or are still unconfirmed, with GHL's own words: for staff, not the client.
    booking_problems = [b for b in every_booking if b.status not in MADE_BOOKING_STATUSES and b.failure_reason]
    has_contact = any(b.ghl_contact_id for b in bookings)
    # In sandbox mode the contact exists only in the local stand-in: no GoHighLevel page to link to.
    location_id = _ghl_location_id(client=call.client) if has_contact and not settings.SANDBOX else ""
    booking_rows = [
        BookingRow(
            booking,
            GHL_CONTACT_URL.format(
                domain=call.agency.ghl_app_domain, location_id=location_id, contact_id=booking.ghl_contact_id
            )
            if location_id and booking.ghl_contact_id
            else "",
        )
        for booking in bookings
    ]
    zone = ZoneInfo(call.client.time_zone if call.client else "UTC")
    asked_at = tool_call_seconds(call.messages)
    steps = []
    for record in call.tool_calls.order_by("created_at", "pk"):
        seconds = asked_at.get(record.tool_call_id)
        if seconds is None and call.started_at and record.created_at >= call.started_at:
            seconds = (record.created_at - call.started_at).total_seconds()
        steps.append(ToolStep(record, tool_words(record.name), key_value_rows(record.arguments, tz=zone), seconds))
    context = {
        "turns": conversation_turns(messages=call.messages, transcript=call.transcript),
        "structured_rows": key_value_rows(call.structured_data, tz=zone) if call.structured_data else [],
        "verdict": success_verdict(call.success_evaluation),
        "ended_reason_text": ended_reason_text(call.ended_reason) if call.ended_reason else "",
        "duration": clock(call.duration_seconds),
        # Until it ends, a call shows where it is (ringing, in progress) instead of an outcome.
        "live_status": call.status.replace("-", " ").capitalize() if call.status not in ("", "ended") else "",
        "recording_url": _web_url(call.recording_url),
        "stereo_recording_url": _web_url(call.stereo_recording_url),
        "tool_steps": steps,
        "bookings": booking_rows,
        "booking_problems": booking_problems,
        "contact_url": next((row.contact_url for row in booking_rows if row.contact_url), ""),
        "sandbox_contact": has_contact and settings.SANDBOX,
        "time_zone": zone,
    }
    if with_costs:
        rows = cost_rows(call.cost_breakdown)
        context.update(cost_rows=rows, cost_total=cost_total(cost=call.cost, rows=rows))
    return context


def client_recent_calls(*, client: ClientAccount, limit: int) -> QuerySet[Call]:
    return Call.objects.filter(client=client).order_by(F("started_at").desc(nulls_last=True), "-created_at")[:limit]


CALL_SORTS = {
    # The PostgreSQL-only indexes of migration 0004 follow these exactly, so a page reads 50 index entries.
    "newest": SortKey("started_at", descending=True),
    "oldest": SortKey("started_at", descending=False),
    "longest": SortKey("duration_seconds", descending=True),
    "shortest": SortKey("duration_seconds", descending=False),
    "cost": SortKey("cost", descending=True),
}


# Seconds: [min, max) of each duration bucket a person picks.
DURATION_BUCKETS = {"short": (0, 60), "medium": (60, 300), "long": (300, None)}


# GHL documents no contact-page URL; this is the address its app (public or white-label) uses for a contact.
GHL_CONTACT_URL = "https://{domain}/v2/location/{location_id}/contacts/detail/{contact_id}"
