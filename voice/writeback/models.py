"""What AgencyHub writes back to the caller's GHL contact after each call: a tag for the outcome and the call's
structured answers in the contact fields the client chose."""

from django.db import models
from django.utils import timezone

from tenants.models import ClientAccount
from voice.models import Call, CallOutcome

DEFAULT_TAGS = {
    CallOutcome.BOOKED: "ai-booked",
    CallOutcome.NO_BOOKING: "ai-no-booking",
    CallOutcome.TRANSFERRED: "ai-transferred",
    CallOutcome.FAILED: "ai-call-failed",
}


class WriteBackSettings(models.Model):
    """Per client: whether calls are written back, the tag each outcome adds, and which GHL contact field each
    structured-data key of the call goes into."""

    client = models.OneToOneField(ClientAccount, on_delete=models.CASCADE, related_name="writeback_settings")
    enabled = models.BooleanField(default=True)
    booked_tag = models.CharField(max_length=100, blank=True, default=DEFAULT_TAGS[CallOutcome.BOOKED])
    no_booking_tag = models.CharField(max_length=100, blank=True, default=DEFAULT_TAGS[CallOutcome.NO_BOOKING])
    transferred_tag = models.CharField(max_length=100, blank=True, default=DEFAULT_TAGS[CallOutcome.TRANSFERRED])
    failed_tag = models.CharField(max_length=100, blank=True, default=DEFAULT_TAGS[CallOutcome.FAILED])
    # {structured-data key: {"id": GHL custom field id, "name": its name when it was chosen}}
    field_mapping = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Write-back of {self.client}"

    def tag_for(self, outcome: str) -> str:
        return {
            CallOutcome.BOOKED: self.booked_tag,
            CallOutcome.NO_BOOKING: self.no_booking_tag,
            CallOutcome.TRANSFERRED: self.transferred_tag,
            CallOutcome.FAILED: self.failed_tag,
        }.get(outcome, "").strip()


class WriteBackStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    WORKING = "working", "Writing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class CallWriteBack(models.Model):
    """The write-back of one call: written with the end-of-call report, before GHL is asked, one per call; a
    worker writes only after claiming it (pending -> working) with one UPDATE, so repeated reports, replays
    and a second worker find it instead of writing again."""

    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="writeback")
    client = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="call_writebacks")
    status = models.CharField(max_length=10, choices=WriteBackStatus.choices, default=WriteBackStatus.PENDING)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    contact_id = models.CharField(max_length=64, blank=True)
    # What GHL accepted: the tags added, and {field name: value} written.
    tags = models.JSONField(default=list, blank=True)
    fields = models.JSONField(default=dict, blank=True)
    # GHL's message when it failed; why it was skipped.
    detail = models.TextField(blank=True)
    # GHL refused for a scope the connection was not granted: the client must reconnect.
    needs_reconnect = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"Write-back of {self.call}"
