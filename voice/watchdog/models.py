"""The watchdog's memory: each check's current state per client, the incidents it opened, and each agency's
alert settings. Imported by voice/models.py, so these are models of the voice app."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from integrations.crypto import EncryptedTextField
from tenants.models import Agency, ClientAccount, validate_time_zone


class CheckName(models.TextChoices):
    GHL_CONNECTION = "ghl_connection", "GoHighLevel connection"
    CALENDARS = "calendars", "Calendars the assistant books into"
    FREE_SLOTS = "free_slots", "Free slots in the next 7 days"
    PHONE_NUMBERS = "phone_numbers", "Phone numbers"
    VAPI_PUSH = "vapi_push", "Last push to Vapi"
    TOOL_ERRORS = "tool_errors", "Tool errors in the last hour"
    WEBHOOK_EVENTS = "webhook_events", "Webhook events"
    CALL_VOLUME = "call_volume", "Calls coming in"
    # Raised by the booking proof (voice.proof) and re-evaluated by every watchdog run.
    BOOKING_PROOF = "booking_proof", "Booking proof"


class CheckState(models.TextChoices):
    OK = "ok", "OK"
    WARNING = "warning", "Warning"
    FAILING = "failing", "Failing"


class WatchdogCheck(models.Model):
    """The last verdict of one check for one client (or, with no client, for the agency as a whole)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="watchdog_checks")
    client = models.ForeignKey(
        ClientAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="watchdog_checks"
    )
    check_name = models.CharField(max_length=20, choices=CheckName.choices)
    state = models.CharField(max_length=10, choices=CheckState.choices, default=CheckState.OK)
    since = models.DateTimeField(default=timezone.now)
    detail = models.CharField(max_length=500, blank=True)
    fix_label = models.CharField(max_length=40, blank=True)
    fix_url = models.CharField(max_length=500, blank=True)
    # Consecutive ok runs while an incident is open: it resolves only once a whole run confirmed the fix.
    ok_runs = models.PositiveSmallIntegerField(default=0)
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["client__name", "check_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "check_name"], condition=Q(client__isnull=False), name="watchdog_check_per_client"
            ),
            models.UniqueConstraint(
                fields=["agency", "check_name"], condition=Q(client__isnull=True), name="watchdog_check_per_agency"
            ),
        ]

    def __str__(self):
        return f"{self.get_check_name_display()} of {self.client or self.agency}: {self.state}"


class Incident(models.Model):
    """A check that started failing, open until it has been ok for a full run; one alert each way."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="incidents")
    client = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="incidents")
    check_name = models.CharField(max_length=20, choices=CheckName.choices)
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_state = models.CharField(max_length=10, choices=CheckState.choices, default=CheckState.FAILING)
    detail = models.CharField(max_length=500, blank=True)
    fix_label = models.CharField(max_length=40, blank=True)
    fix_url = models.CharField(max_length=500, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # When the "failing" and "recovered" alerts went out; null while held (quiet hours) or not due.
    failing_alerted_at = models.DateTimeField(null=True, blank=True)
    recovered_alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "client", "check_name"],
                condition=Q(resolved_at__isnull=True, client__isnull=False),
                name="incident_open_once_per_client_check",
            ),
            models.UniqueConstraint(
                fields=["agency", "check_name"],
                condition=Q(resolved_at__isnull=True, client__isnull=True),
                name="incident_open_once_per_agency_check",
            ),
        ]
        indexes = [models.Index(fields=["agency", "resolved_at", "-opened_at"], name="incident_agency_idx")]

    def __str__(self):
        return f"{self.get_check_name_display()} of {self.client or self.agency} since {self.opened_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class AlertSettings(models.Model):
    """Where an agency's alerts go besides its owners' and admins' email, and when they must wait."""

    agency = models.OneToOneField(Agency, on_delete=models.CASCADE, related_name="alert_settings")
    slack_webhook_url = EncryptedTextField(blank=True)
    slack_last_error = models.CharField(max_length=500, blank=True)
    # Alerts due between start and end (local time; end before start wraps past midnight) are held.
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "alert settings"

    def __str__(self):
        return f"Alert settings of {self.agency}"
