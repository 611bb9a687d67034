import uuid

from django.db import models
from django.utils import timezone

from tenants.models import Agency, ClientAccount


class WebhookProvider(models.TextChoices):
    GHL = "ghl", "GoHighLevel"
    VAPI = "vapi", "Vapi"


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSING = "processing", "Processing"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"
    IGNORED = "ignored", "Ignored"


class WebhookEvent(models.Model):
    """One verified event from a provider, stored raw before anything acts on it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider = models.CharField(max_length=10, choices=WebhookProvider.choices)
    event_type = models.CharField(max_length=100)
    # GHL: webhookId; Vapi: call id + type + timestamp. A repeat delivery hits the unique constraint.
    unique_key = models.CharField(max_length=255)
    # Null while the sender's tenant is unknown (an INSTALL for a location not linked yet).
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_events")
    client = models.ForeignKey(
        ClientAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    headers = models.JSONField(default=dict, blank=True)
    body = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=12, choices=WebhookStatus.choices, default=WebhookStatus.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "unique_key"], name="webhook_event_unique_key"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_sweep_idx"),
            models.Index(fields=["agency", "-received_at"], name="webhook_agency_idx"),
            models.Index(fields=["agency", "status", "-received_at"], name="webhook_agency_status_idx"),
        ]

    def __str__(self):
        return f"{self.get_provider_display()} {self.event_type} ({self.unique_key})"
