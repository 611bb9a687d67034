import uuid
from datetime import timedelta

from django.conf import settings
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
    # Every event is an INSERT on the hot path, so the table carries only the indexes a query uses (#12): an agency's
    # lookups (its pages, the cascade when it is deleted) lead with agency in webhook_agency_idx, and a client's (the
    # SET NULL when it is deleted) find the few rows a handler linked in the partial webhook_client_idx; a new event,
    # which has no client yet, is written to neither of the FK indexes Django would add. Nor does PostgreSQL check the
    # foreign keys (db_constraint=False): its check locks the agency's row (FOR KEY SHARE) for every event stored, which
    # a burst of one agency's calls queues on; the row is written from a verified request of that agency, and Django
    # still deletes an agency's events with it and unlinks a deleted client's (on_delete).
    agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhook_events",
        db_index=False,
        db_constraint=False,
    )
    client = models.ForeignKey(
        ClientAccount,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_events",
        db_index=False,
        db_constraint=False,
    )
    headers = models.JSONField(default=dict, blank=True)
    # Compressed with lz4 on PostgreSQL (migration 0005): a report's transcript is kilobytes, pglz costs more CPU.
    body = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=12, choices=WebhookStatus.choices, default=WebhookStatus.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The Celery task that holds the claim: its retries (same task id) may take the claim back at once.
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "unique_key"], name="webhook_event_unique_key"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_sweep_idx"),
            models.Index(fields=["agency", "-received_at"], name="webhook_agency_idx"),
            models.Index(fields=["agency", "status", "-received_at"], name="webhook_agency_status_idx"),
            models.Index(fields=["client"], condition=models.Q(client__isnull=False), name="webhook_client_idx"),
        ]

    def __str__(self):
        return f"{self.get_provider_display()} {self.event_type} ({self.unique_key})"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


JOB_STALLED_AFTER = timedelta(minutes=10)
# Queued longer than this, a job is waiting for a worker (or a broker) to come back: the page says so.
WAITING_FOR_WORKER_AFTER = timedelta(minutes=1)


def job_result_path(job: "Job", filename: str) -> str:
    # The file is only ever served through the tenant-scoped download view, never by a public URL.
    return f"jobs/{job.agency.public_id}/{job.public_id}/{filename}"


class Job(models.Model):
    """Long work someone started from a page (an export, an import): its progress and, when done, its file."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    result = models.FileField(upload_to=job_result_path, blank=True, max_length=300)
    # Where the person goes back to when the work is done (the list the export came from).
    back_url = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["agency", "-created_at"], name="job_agency_idx")]

    def __str__(self):
        return f"{self.title} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)

    @property
    def stalled(self) -> bool:
        """Started but unfinished long after any task could still run (twice Celery's time limit): its worker
        was lost. A job still queued is not stalled: the jobs sweeper enqueues it again."""
        return self.status == JobStatus.RUNNING and timezone.now() - self.created_at > JOB_STALLED_AFTER

    @property
    def waiting_for_worker(self) -> bool:
        return self.status == JobStatus.QUEUED and timezone.now() - self.created_at > WAITING_FOR_WORKER_AFTER

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        if not self.total:
            return 0
        return min(99, self.done * 100 // self.total)
