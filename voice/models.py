import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from integrations.crypto import EncryptedTextField
from tenants.models import Agency, ClientAccount, validate_time_zone

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def validate_e164(value: str) -> None:
    if value and not E164.match(value):
        raise ValidationError("Use international format, e.g. +15551234567.")


def default_business_hours() -> dict:
    weekday = {"open": "09:00", "close": "17:00"}
    return {day: (dict(weekday) if day not in ("sat", "sun") else None) for day in WEEKDAYS}


class VapiAccount(models.Model):
    """One Vapi org per agency: its private key and the secret Vapi sends back to us."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="vapi_account")
    api_key = EncryptedTextField(blank=True)
    webhook_secret = EncryptedTextField(blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verify_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Vapi account of {self.agency}"


class LiveTool(models.TextChoices):
    CHECK_AVAILABILITY = "check_availability", "Check availability"
    BOOK_APPOINTMENT = "book_appointment", "Book appointments"
    RESCHEDULE_APPOINTMENT = "reschedule_appointment", "Reschedule appointments"
    CANCEL_APPOINTMENT = "cancel_appointment", "Cancel appointments"
    TRANSFER_CALL = "transfer_call", "Transfer to a person"
    END_CALL = "end_call", "Hang up when done"


class SyncStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"


# Curated: values Vapi's spec accepts and that suit a phone receptionist.
MODEL_CHOICES = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4.1"),
    ("openai", "gpt-4.1-mini"),
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("anthropic", "claude-haiku-4-5-20251001"),
]
VOICE_PRESETS = [
    ("vapi", "Elliot"),
    ("vapi", "Clara"),
    ("vapi", "Rohan"),
    ("11labs", "sarah"),
    ("11labs", "paula"),
    ("11labs", "ryan"),
    ("openai", "alloy"),
    ("openai", "nova"),
]
TRANSCRIBER_CHOICES = [("deepgram", "nova-3"), ("deepgram", "nova-2-phonecall"), ("deepgram", "nova-2")]
LANGUAGE_CHOICES = [("en", "English"), ("en-US", "English (US)"), ("es", "Spanish"), ("multi", "Multilingual")]


class Assistant(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="assistants")
    name = models.CharField(max_length=40)
    first_message = models.CharField(max_length=1000, blank=True)
    system_prompt = models.TextField(blank=True)
    model_provider = models.CharField(max_length=30, default="openai")
    model = models.CharField(max_length=80, default="gpt-4o")
    voice_provider = models.CharField(max_length=30, default="vapi")
    voice_id = models.CharField(max_length=120, default="Elliot")
    transcriber_provider = models.CharField(max_length=30, default="deepgram")
    transcriber_model = models.CharField(max_length=60, default="nova-3")
    transcriber_language = models.CharField(max_length=10, default="en")
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    business_hours = models.JSONField(default=default_business_hours)
    appointment_minutes = models.PositiveSmallIntegerField(default=30)
    transfer_number = models.CharField(max_length=16, blank=True, validators=[validate_e164])
    end_call_phrases = models.JSONField(default=list, blank=True)
    live_tools = models.JSONField(default=list, blank=True)
    vapi_id = models.CharField(max_length=64, blank=True, db_index=True)
    sync_status = models.CharField(max_length=10, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    sync_error = models.TextField(blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    # When the pending push was enqueued: the sweeper enqueues it again if it is still pending long after.
    push_requested_at = models.DateTimeField(default=timezone.now)
    # Set while one push creates it in Vapi: a second push at the same moment does not POST a second assistant.
    vapi_create_claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client__name", "name"]

    def __str__(self):
        return f"{self.name} ({self.client})"

    @property
    def push_waiting_for_worker(self) -> bool:
        """Pending for over a minute: the push waits for a worker (or the broker) to come back."""
        return self.sync_status == SyncStatus.PENDING and timezone.now() - self.push_requested_at > timedelta(minutes=1)


class AssistantCalendar(models.Model):
    """A GHL calendar the assistant may book into, and what callers call it ("cleaning")."""

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="calendars")
    calendar_id = models.CharField(max_length=64)
    calendar_name = models.CharField(max_length=200)
    spoken_name = models.CharField(max_length=60)

    class Meta:
        ordering = ["spoken_name"]
        constraints = [
            models.UniqueConstraint(fields=["assistant", "calendar_id"], name="assistant_calendar_unique"),
        ]

    def __str__(self):
        return f"{self.spoken_name} → {self.calendar_name}"


class AssistantRevision(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="revisions")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    snapshot = models.JSONField()
    changed_fields = models.JSONField(default=list)
    prompt_diff = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Revision of {self.assistant} at {self.created_at:%Y-%m-%d %H:%M}"


class PhoneNumber(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="phone_numbers")
    vapi_id = models.CharField(max_length=64)
    # The digits or the SIP URI Vapi reports; the spec limits neither VapiPhoneNumber.sipUri nor `number`.
    number = models.TextField(blank=True)
    name = models.CharField(max_length=100, blank=True)
    assistant = models.ForeignKey(
        Assistant, on_delete=models.SET_NULL, null=True, blank=True, related_name="phone_numbers"
    )

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["agency", "vapi_id"], name="phone_number_unique_per_agency")]

    def __str__(self):
        return self.number or self.vapi_id


class CallOutcome(models.TextChoices):
    BOOKED = "booked", "Booked"
    TRANSFERRED = "transferred", "Transferred"
    NO_BOOKING = "no_booking", "No booking"
    FAILED = "failed", "Failed"


class Call(models.Model):
    """One phone call an assistant took, upserted by Vapi's call id from whatever message comes first."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="calls")
    client = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="calls")
    assistant = models.ForeignKey("Assistant", on_delete=models.SET_NULL, null=True, blank=True, related_name="calls")
    vapi_call_id = models.CharField(max_length=64)
    caller_number = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=20, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    ended_reason = models.CharField(max_length=120, blank=True)
    # Derived from bookings and the ended reason (voice.ended_reasons), stored so lists filter and chart it.
    outcome = models.CharField(max_length=12, choices=CallOutcome.choices, default=CallOutcome.NO_BOOKING)
    cost = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    cost_breakdown = models.JSONField(default=list, blank=True)
    transcript = models.TextField(blank=True)
    messages = models.JSONField(default=list, blank=True)
    recording_url = models.URLField(max_length=1000, blank=True)
    stereo_recording_url = models.URLField(max_length=1000, blank=True)
    summary = models.TextField(blank=True)
    structured_data = models.JSONField(default=dict, blank=True)
    success_evaluation = models.CharField(max_length=200, blank=True)
    note_added_at = models.DateTimeField(null=True, blank=True)
    # The GHL note is claimed (a conditional UPDATE) before it is sent, so one report in three writes it.
    note_claimed_at = models.DateTimeField(null=True, blank=True)
    note_attempts = models.PositiveSmallIntegerField(default=0)
    # Why the note will not be sent (GHL refused it, or no contact to attach it to); shown on the call page.
    note_error = models.TextField(blank=True)
    # Where the call was logged in GHL: "note" on the contact, or "conversation" (the agency's provider).
    note_channel = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # to_tsvector('english', transcript), kept by a PostgreSQL trigger on write (migration 0012) and
    # GIN-indexed: search reads it instead of recomputing it per row. Always empty on SQLite.
    transcript_search = SearchVectorField(null=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "vapi_call_id"], name="unique_call_per_agency")]
        indexes = [
            models.Index(fields=["agency", "-started_at"]),
            models.Index(fields=["client", "-started_at"]),
            models.Index(fields=["agency", "outcome", "-started_at"]),
        ]

    def __str__(self):
        return f"Call {self.vapi_call_id}"


class ToolCallRecord(models.Model):
    """What the assistant asked during a call and what we answered, with how long it took."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="tool_calls")
    tool_call_id = models.CharField(max_length=100)
    name = models.CharField(max_length=64)
    arguments = models.JSONField(default=dict, blank=True)
    result = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    # Written with the answer: the slots considered and why others were not offered, or what a booking
    # tool confirmed (appointment, calendar, start) for the call's booking proof.
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["call", "tool_call_id"], name="unique_tool_call")]
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.name} ({self.tool_call_id})"


class BookingStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    BOOKED = "booked", "Booked"
    RESCHEDULED = "rescheduled", "Rescheduled"
    CANCELLED = "cancelled", "Cancelled"
    SLOT_TAKEN = "slot_taken", "Slot taken"
    FAILED = "failed", "Failed"


class AppointmentStatus(models.TextChoices):
    """GHL's own appointmentStatus (calendars.json), which the business sets after the visit."""

    NEW = "new", "New"
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"
    SHOWED = "showed", "Showed"
    NOSHOW = "noshow", "No-show"
    INVALID = "invalid", "Invalid"


# Appointments the assistant made in GHL, whatever happened to them afterwards; failed and slot-taken
# attempts are the agency's to fix, not a client's.
MADE_BOOKING_STATUSES = (BookingStatus.BOOKED, BookingStatus.RESCHEDULED, BookingStatus.CANCELLED)
# Of those, the appointments that still stand.
STANDING_BOOKING_STATUSES = (BookingStatus.BOOKED, BookingStatus.RESCHEDULED)


class Booking(models.Model):
    """An appointment an assistant made in the client's GHL calendar; keyed by the tool call that made it,
    written before GHL is called so a repeated tool call hears the first answer again."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="bookings")
    call = models.ForeignKey(Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="bookings")
    tool_call_id = models.CharField(max_length=100)
    calendar_id = models.CharField(max_length=64)
    calendar_name = models.CharField(max_length=120, blank=True)
    ghl_appointment_id = models.CharField(max_length=64, blank=True)
    ghl_contact_id = models.CharField(max_length=64, blank=True)
    caller_name = models.CharField(max_length=200, blank=True)
    caller_phone = models.CharField(max_length=32, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=BookingStatus.choices, default=BookingStatus.PENDING)
    # What the assistant told the caller about this booking (the read API's `result`); the outcome is `status`.
    spoken_result = models.TextField(blank=True)
    # What went wrong, in GHL's own words when it gave any (staff read it; the caller heard spoken_result).
    failure_reason = models.TextField(blank=True)
    # The appointment's status in GHL (showed, noshow...), from its webhooks and the nightly re-read; blank
    # until GHL has told us. ghl_status_at is GHL's dateUpdated, so an older event never overwrites a newer one.
    ghl_status = models.CharField(max_length=12, choices=AppointmentStatus.choices, blank=True)
    ghl_status_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["call", "tool_call_id"], name="unique_booking_per_tool_call"),
            # A second request for the same slot in one call finds the first instead of booking twice.
            models.UniqueConstraint(
                fields=["call", "calendar_id", "start"],
                condition=models.Q(status__in=["pending", "booked"]),
                name="one_live_booking_per_call_slot",
            ),
        ]
        indexes = [models.Index(fields=["client", "start"]), models.Index(fields=["ghl_appointment_id"])]

    def __str__(self):
        return f"Booking {self.calendar_name} {self.start:%Y-%m-%d %H:%M}"


class CallDay(models.Model):
    """One client's calls on one UTC day, summed with the exact definitions of voice.dashboards.stats:
    what the agency dashboard and usage read, so their cost follows days and clients, not calls.

    PostgreSQL keeps it with statement triggers on voice_call and voice_booking (migration 0013), in
    the writing transaction, whatever the write path (ingest, the live tools' UPDATEs, admin, deletes),
    in up to eight rows a client and day (stripe).
    SQLite has no triggers for it: there the pages sum the calls themselves.
    """

    # No database constraint: deleting a client deletes its calls first, and the triggers zero these rows
    # in that same statement; a constraint would trip over the trigger's writes during the cascade.
    agency = models.ForeignKey(
        Agency, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    client = models.ForeignKey(
        ClientAccount, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, null=True, related_name="+"
    )
    day = models.DateField()
    calls = models.IntegerField(default=0)
    booked_calls = models.IntegerField(default=0)
    seconds = models.BigIntegerField(default=0)
    timed_calls = models.IntegerField(default=0)
    cost = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    # Made bookings (MADE_BOOKING_STATUSES) of the calls counted here.
    bookings = models.IntegerField(default=0)
    # Which of the day's rows (up to 8, migration 0019) a writing transaction adds to, picked by its id: two
    # transactions writing one client's calls rarely wait on one row's lock. A day's sums are its rows' sums.
    stripe = models.SmallIntegerField(db_default=0)

    def __str__(self):
        return f"Calls of client {self.client_id} on {self.day}"


from voice.calltests.models import CallTest, CallTestStep, OutcomeKind  # noqa: E402, F401
from voice.kept.models import ServiceValue  # noqa: E402, F401
from voice.messaging.models import MessagingSettings, TextMessage, TextMessageKind, TextMessageStatus  # noqa: E402, F401
from voice.proof.models import CallProof, MismatchKind, ProofStatus  # noqa: E402, F401
from voice.reports.models import ClientReport, ClientReportStatus  # noqa: E402, F401
from voice.watchdog.models import AlertSettings, CheckName, CheckState, Incident, WatchdogCheck  # noqa: E402, F401
from voice.writeback.models import CallWriteBack, WriteBackSettings, WriteBackStatus  # noqa: E402, F401
