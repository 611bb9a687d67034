"""What a client's callers are texted through GHL: confirmations after the assistant acts, and reminders."""

import uuid

from django.db import models
from django.utils import timezone

from tenants.models import ClientAccount
from voice.models import Booking, Call

DEFAULT_BOOKED_TEXT = "{business}: your {service} is booked for {date} at {time}, {place}. {how_to_change}"
DEFAULT_RESCHEDULED_TEXT = "{business}: your {service} has moved to {date} at {time}, {place}. {how_to_change}"
DEFAULT_CANCELLED_TEXT = "{business}: your {service} on {date} at {time} is cancelled. {how_to_change}"
DEFAULT_REMINDER_TEXT = "Reminder from {business}: your {service} is on {date} at {time}, {place}. {how_to_change}"
DEFAULT_HOW_TO_CHANGE = "To change it, call us back."


class MessagingSettings(models.Model):
    """How a client's callers are texted through GHL: a confirmation after the assistant books, moves or
    cancels their appointment, and reminders at the offsets chosen here."""

    client = models.OneToOneField(ClientAccount, on_delete=models.CASCADE, related_name="messaging_settings")
    confirmations_enabled = models.BooleanField(default=True)
    booked_text = models.TextField(max_length=480, default=DEFAULT_BOOKED_TEXT)
    rescheduled_text = models.TextField(max_length=480, default=DEFAULT_RESCHEDULED_TEXT)
    cancelled_text = models.TextField(max_length=480, default=DEFAULT_CANCELLED_TEXT)
    place = models.CharField(max_length=200, blank=True)
    how_to_change = models.CharField(max_length=200, default=DEFAULT_HOW_TO_CHANGE, blank=True)
    # Minutes before the appointment, counted in real time (a 24 h reminder is 24 real hours, DST or not).
    reminder_offsets = models.JSONField(default=list, blank=True)
    reminder_text = models.TextField(max_length=480, default=DEFAULT_REMINDER_TEXT)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Messaging of {self.client}"


class TextMessageKind(models.TextChoices):
    BOOKED = "booked", "Booking confirmation"
    RESCHEDULED = "rescheduled", "Reschedule confirmation"
    CANCELLED = "cancelled", "Cancellation confirmation"
    REMINDER = "reminder", "Reminder"


class TextMessageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class TextMessage(models.Model):
    """One SMS to a caller about one change of one GHL appointment, or one reminder of it. The row is written
    before GHL is asked and keyed by its cause, so a repeated tool call, a replay or a second worker finds it
    instead of texting twice; a worker sends only after claiming it (pending -> sending) with one UPDATE."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="text_messages")
    booking = models.ForeignKey(Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="text_messages")
    # The call whose assistant made the change; reminders have none.
    call = models.ForeignKey(Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="text_messages")
    appointment_id = models.CharField(max_length=64)
    contact_id = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=12, choices=TextMessageKind.choices)
    # Confirmations: the tool call that made the change. Reminders: the offset and the start it reminds of.
    change_version = models.CharField(max_length=120)
    appointment_start = models.DateTimeField()
    send_at = models.DateTimeField()
    body = models.TextField()
    status = models.CharField(max_length=10, choices=TextMessageStatus.choices, default=TextMessageStatus.PENDING)
    # GHL's message when it failed; why it was skipped (DND, cancelled, moved).
    detail = models.CharField(max_length=300, blank=True)
    ghl_message_id = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "appointment_id", "kind", "change_version"], name="text_message_once_per_change"
            )
        ]
        indexes = [models.Index(fields=["status", "send_at"]), models.Index(fields=["client", "-send_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.appointment_id}"
