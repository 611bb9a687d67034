"""The monthly client report: one email per client and month to the client's admins, claimed before sending."""

from django.db import models
from django.utils import timezone

from tenants.models import ClientAccount


class ClientReportStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class ClientReport(models.Model):
    """One client's report of one month, as sent by email. The row is claimed (written, or a failed one taken
    back with one UPDATE) before the email goes, so a repeated beat or a second worker never sends it twice."""

    client = models.ForeignKey(ClientAccount, on_delete=models.CASCADE, related_name="reports")
    # The first day of the month reported on.
    month = models.DateField()
    status = models.CharField(max_length=10, choices=ClientReportStatus.choices, default=ClientReportStatus.SENDING)
    recipients = models.JSONField(default=list, blank=True)
    # Why it failed or was skipped (no client admin to send it to).
    detail = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "month"], name="one_report_per_client_month")]

    def __str__(self):
        return f"Report of {self.client} for {self.month:%Y-%m}"
