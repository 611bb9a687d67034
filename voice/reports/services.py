"""The monthly client report, rendered (Django templates, text and HTML) and sent once per client and month."""

import logging
import smtplib
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tenants.models import ClientAccount, ClientRole
from voice.models import ClientReport, ClientReportStatus
from voice.reports.selectors import ClientMonthReport, client_admin_emails, client_month_report, previous_month

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedReport:
    subject: str
    text: str
    html: str


def report_url(*, client: ClientAccount, month: date) -> str:
    path = reverse("client_report", args=[client.public_id])
    return f"{settings.PUBLIC_BASE_URL}{path}?month={month:%Y-%m}"


def report_render(*, report: ClientMonthReport) -> RenderedReport:
    context = {
        "report": report,
        "client": report.client,
        "funnel": report.funnel,
        "report_url": report_url(client=report.client, month=report.month),
        "call_base_url": settings.PUBLIC_BASE_URL,
    }
    return RenderedReport(
        subject=f"{report.client.name}: your AI receptionist in {report.month:%B %Y}",
        text=render_to_string("voice/reports/email/report.txt", context),
        html=render_to_string("voice/reports/email/report.html", context),
    )


def _claim(*, client: ClientAccount, month: date, again: bool) -> ClientReport | None:
    """The report's row, claimed for sending; None when another run sent it (or is sending it)."""
    row, created = ClientReport.objects.get_or_create(client=client, month=month)
    if created:
        return row
    retaken = [ClientReportStatus.FAILED, *([ClientReportStatus.SENT, ClientReportStatus.SKIPPED] if again else [])]
    claimed = ClientReport.objects.filter(pk=row.pk, status__in=retaken).update(
        status=ClientReportStatus.SENDING, detail=""
    )
    return row if claimed else None


def _finish(row: ClientReport, *, status: str, recipients: list[str], detail: str = "") -> ClientReport:
    row.status, row.recipients, row.detail = status, recipients, detail[:300]
    row.sent_at = timezone.now() if status == ClientReportStatus.SENT else None
    row.save(update_fields=["status", "recipients", "detail", "sent_at"])
    return row


def client_report_send(*, client: ClientAccount, month: date, again: bool = False) -> ClientReport | None:
    """Emails the month's report to each of the client's admins, once: a repeated run finds the first
    (unless `again`, an operator's resend); a failed send is tried again by the next run. None when skipped
    as already sent."""
    month = month.replace(day=1)
    row = _claim(client=client, month=month, again=again)
    if row is None:
        return None
    recipients = client_admin_emails(client=client)
    if not recipients:
        return _finish(row, status=ClientReportStatus.SKIPPED, recipients=[], detail="The client has no admin.")
    rendered = report_render(report=client_month_report(client=client, month=month))
    try:
        with get_connection() as connection:
            for recipient in recipients:
                email = EmailMultiAlternatives(rendered.subject, rendered.text, to=[recipient], connection=connection)
                email.attach_alternative(rendered.html, "text/html")
                email.send()
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("Monthly report of client %s for %s not sent: %s", client.public_id, month, exc)
        return _finish(row, status=ClientReportStatus.FAILED, recipients=recipients, detail=str(exc))
    return _finish(row, status=ClientReportStatus.SENT, recipients=recipients)


def clients_due_report(*, now: datetime | None = None) -> list[tuple[int, str]]:
    """(client id, the month to report as YYYY-MM-01) for every client with an admin to send it to."""
    clients = ClientAccount.objects.filter(memberships__role=ClientRole.CLIENT_ADMIN).distinct().order_by("pk")
    return [(client.pk, previous_month(client=client, now=now).isoformat()) for client in clients]
