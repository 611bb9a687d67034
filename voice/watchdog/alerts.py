"""Alert delivery: one email (and one incoming-webhook post) per change of an incident, held during the
agency's quiet hours and summarised into one message when several are due at once."""

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from tenants.models import Agency
from voice.watchdog import selectors
from voice.watchdog.models import AlertSettings, Incident
from voice.watchdog.slack import AlertWebhookError, alert_webhook_post

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertItem:
    incident: Incident
    kind: str  # "failing", "recovered", or "failed and recovered" (both happened while alerts were held)

    @property
    def where(self) -> str:
        return self.incident.client.name if self.incident.client else "Agency-wide"

    @property
    def fix_link(self) -> str:
        return settings.PUBLIC_BASE_URL + self.incident.fix_url if self.incident.fix_url else ""


def in_quiet_hours(*, alert_settings: AlertSettings | None, now: datetime) -> bool:
    if alert_settings is None or alert_settings.quiet_hours_start is None or alert_settings.quiet_hours_end is None:
        return False
    start, end = alert_settings.quiet_hours_start, alert_settings.quiet_hours_end
    local = now.astimezone(ZoneInfo(alert_settings.time_zone)).time()
    if start < end:
        return start <= local < end
    return start != end and (local >= start or local < end)


def _pending(agency: Agency):
    due = Q(failing_alerted_at__isnull=True) | Q(resolved_at__isnull=False, recovered_alerted_at__isnull=True)
    return (
        Incident.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(due, agency=agency)
        .select_related("client")
        .order_by("opened_at", "pk")
    )


def _kind(incident: Incident) -> str:
    if incident.resolved_at is None:
        return "failing"
    return "recovered" if incident.failing_alerted_at else "failed and recovered"


def alerts_deliver(*, agency: Agency, now: datetime) -> int:
    """Sends what is due unless it is quiet time; returns how many incidents the message covered."""
    alert_settings = selectors.alert_settings_for_agency(agency=agency)
    if in_quiet_hours(alert_settings=alert_settings, now=now):
        return 0
    # The rows stay locked while sending, so a concurrent run skips them; a failed send rolls back and retries.
    with transaction.atomic():
        incidents = list(_pending(agency))
        if not incidents:
            return 0
        items = [AlertItem(incident=incident, kind=_kind(incident)) for incident in incidents]
        _email_send(agency=agency, items=items)
        if alert_settings is not None and alert_settings.slack_webhook_url:
            _webhook_send(alert_settings=alert_settings, items=items)
        for incident in incidents:
            incident.failing_alerted_at = incident.failing_alerted_at or now
            if incident.resolved_at is not None:
                incident.recovered_alerted_at = now
        Incident.objects.bulk_update(incidents, ["failing_alerted_at", "recovered_alerted_at"])
    return len(items)


def _subject(agency: Agency, items: list[AlertItem]) -> str:
    if len(items) > 1:
        return f"[AgencyHub] {len(items)} watchdog alerts for {agency.name}"
    item = items[0]
    label = "Failing" if item.kind == "failing" else "Recovered"
    return f"[AgencyHub] {label}: {item.where}, {item.incident.get_check_name_display()}"


def _email_send(*, agency: Agency, items: list[AlertItem]) -> None:
    recipients = selectors.alert_recipients(agency=agency)
    if not recipients:
        logger.warning("Watchdog alert for agency %s has nobody to go to", agency.slug)
        return
    context = {
        "agency": agency,
        "items": items,
        "alerts_url": settings.PUBLIC_BASE_URL + reverse("alert_list", args=[agency.slug]),
    }
    message = EmailMultiAlternatives(
        subject=_subject(agency, items),
        body=render_to_string("voice/watchdog/email/alert.txt", context),
        to=recipients,
    )
    message.attach_alternative(render_to_string("voice/watchdog/email/alert.html", context), "text/html")
    message.send()


def _webhook_send(*, alert_settings: AlertSettings, items: list[AlertItem]) -> None:
    lines = [_subject(alert_settings.agency, items).removeprefix("[AgencyHub] ")]
    lines += [
        f"• {item.where} · {item.incident.get_check_name_display()}: {item.kind}. {item.incident.detail}"
        for item in items
    ]
    try:
        alert_webhook_post(url=alert_settings.slack_webhook_url, text="\n".join(lines))
    except (AlertWebhookError, httpx.HTTPError) as exc:
        # The email went out; the agency sees the webhook's error on the Alerts page.
        logger.warning("Alert webhook of agency %s failed: %s", alert_settings.agency.slug, exc)
        error = str(exc)[:500]
    else:
        error = ""
    if error != alert_settings.slack_last_error:
        AlertSettings.objects.filter(pk=alert_settings.pk).update(slack_last_error=error)
