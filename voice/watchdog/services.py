"""Watchdog runs (check every client, keep each check's state, open and resolve incidents) and the
agency's answers to them (acknowledge, alert settings)."""

from datetime import datetime, time

from django.db import transaction
from django.utils import timezone

from integrations.ghl.models import ConnectionStatus
from tenants.models import Agency, User
from voice.proof.selectors import proof_check_results
from voice.watchdog import alerts, checks, selectors
from voice.watchdog.checks import CheckResult
from voice.watchdog.models import AlertSettings, CheckState, Incident, WatchdogCheck

# Ok on this many runs in a row before an incident resolves: a check flapping between runs stays one incident.
RECOVER_AFTER_OK_RUNS = 2


def agency_watchdog_run(*, agency: Agency, now: datetime | None = None) -> list[WatchdogCheck]:
    """Runs every check of the agency once, records the verdicts and sends the alerts that are due."""
    now = now or timezone.now()
    snapshot = selectors.agency_snapshot(agency=agency, now=now, quiet_days=checks.QUIET_DAYS)
    results = checks.agency_results(agency=agency, snapshot=snapshot)
    for client in snapshot.clients:
        connection = snapshot.connections.get(client.pk)
        probe = None
        # GHL is asked outside any transaction: no row stays locked while it answers.
        if connection is not None and connection.status == ConnectionStatus.CONNECTED:
            assistants = snapshot.assistants.get(client.pk, [])
            calendar_ids = {row.calendar_id for assistant in assistants for row in assistant.calendars.all()}
            probe = checks.ghl_probe(connection=connection, calendar_ids=calendar_ids, now=now)
        results += checks.client_results(client=client, snapshot=snapshot, probe=probe)
    results += proof_check_results(agency=agency, clients=snapshot.clients, now=now)
    rows = check_results_apply(agency=agency, results=results, now=now)
    alerts.alerts_deliver(agency=agency, now=now)
    return rows


def watchdog_run(*, agency: Agency | None = None) -> list[WatchdogCheck]:
    agencies = [agency] if agency is not None else list(Agency.objects.order_by("slug"))
    return [row for each in agencies for row in agency_watchdog_run(agency=each)]


def check_results_apply(*, agency: Agency, results: list[CheckResult], now: datetime) -> list[WatchdogCheck]:
    with transaction.atomic():
        # One run per agency at a time, so two runs cannot both open the same incident.
        Agency.objects.select_for_update().filter(pk=agency.pk).first()
        checks_of_agency = WatchdogCheck.objects.filter(agency=agency).select_related("agency", "client")
        rows = {(row.client_id, row.check_name): row for row in checks_of_agency}
        incidents = {(i.client_id, i.check_name): i for i in Incident.objects.filter(agency=agency, resolved_at=None)}
        applied = []
        for result in results:
            key = (result.client.pk if result.client else None, result.check_name)
            row = rows.get(key) or WatchdogCheck(agency=agency, client=result.client, check_name=result.check_name)
            _check_follow(row=row, result=result, incident=incidents.get(key), now=now)
            applied.append(row)
        WatchdogCheck.objects.filter(agency=agency).update(checked_at=now)
    # Agency-wide checks first, then each client's in name order.
    return sorted(applied, key=lambda row: (row.client is not None, row.client.name if row.client else "", row.pk))


def _check_follow(*, row: WatchdogCheck, result: CheckResult, incident: Incident | None, now: datetime) -> None:
    """Moves one check to its new verdict and its incident along with it; writes only what changed."""
    before = (row.state, row.detail, row.fix_label, row.fix_url, row.ok_runs)
    if row.pk is None or row.state != result.state:
        row.since = now
    row.state, row.detail, row.fix_label, row.fix_url = result.state, result.detail, result.fix_label, result.fix_url
    row.ok_runs = row.ok_runs + 1 if incident is not None and result.state == CheckState.OK else 0
    if result.state == CheckState.FAILING and incident is None:
        Incident.objects.create(
            agency_id=row.agency_id,
            client=result.client,
            check_name=result.check_name,
            opened_at=now,
            detail=result.detail,
            fix_label=result.fix_label,
            fix_url=result.fix_url,
        )
    elif incident is not None and result.state != CheckState.OK:
        incident.last_state, incident.detail = result.state, result.detail
        incident.save(update_fields=["last_state", "detail"])
    elif incident is not None and row.ok_runs >= RECOVER_AFTER_OK_RUNS:
        incident.resolved_at, incident.last_state, row.ok_runs = now, CheckState.OK, 0
        incident.save(update_fields=["resolved_at", "last_state"])
    if row.pk is None or before != (row.state, row.detail, row.fix_label, row.fix_url, row.ok_runs):
        row.checked_at = now
        row.save()


def incident_acknowledge(*, incident: Incident, user: User) -> Incident:
    if incident.acknowledged_at is None:
        incident.acknowledged_by, incident.acknowledged_at = user, timezone.now()
        incident.save(update_fields=["acknowledged_by", "acknowledged_at"])
    return incident


def alert_settings_save(
    *,
    agency: Agency,
    slack_webhook_url: str | None,
    quiet_hours_start: time | None,
    quiet_hours_end: time | None,
    time_zone: str,
) -> AlertSettings:
    """Saves the settings; slack_webhook_url None keeps the stored URL, "" removes it."""
    alert_settings, _ = AlertSettings.objects.get_or_create(agency=agency)
    if slack_webhook_url is not None:
        alert_settings.slack_webhook_url = slack_webhook_url
        alert_settings.slack_last_error = ""
    alert_settings.quiet_hours_start, alert_settings.quiet_hours_end = quiet_hours_start, quiet_hours_end
    alert_settings.time_zone = time_zone
    alert_settings.save()
    return alert_settings
