"""The watchdog against the GHL sandbox: each check turns failing and recovers with exactly one email each way."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.ghl.demo import sandbox_connect
from integrations.ghl.models import GhlConnection
from integrations.ghl.sandbox import sandbox_seed
from integrations.ghl.services import connection_disconnect
from integrations.models import WebhookEvent, WebhookStatus
from integrations.sandbox.models import SandboxObject
from tests.factories import AssistantFactory
from voice.assistants.selectors import client_calendars
from voice.models import Call, PhoneNumber, SyncStatus, ToolCallRecord
from voice.watchdog.models import CheckName, CheckState, Incident, WatchdogCheck
from voice.watchdog.services import agency_watchdog_run

pytestmark = pytest.mark.django_db

LOCATION = "sbxLocChicago0000001"


@pytest.fixture
def watched(cast):
    """A client set up right: GHL connected, an assistant on both sandbox calendars, a number, usual calls."""
    sandbox_seed()
    sandbox_connect(client=cast.client_account, location_id=LOCATION)
    cast.client_account.refresh_from_db()  # connecting names the client after its GHL location
    assistant = AssistantFactory(client=cast.client_account, time_zone="America/Chicago")
    assistant.calendars.all().delete()
    for calendar in client_calendars(client=cast.client_account):
        assistant.calendars.create(
            calendar_id=calendar["id"], calendar_name=calendar["name"], spoken_name=calendar["name"].lower()
        )
    assistant.sync_status = SyncStatus.SYNCED
    assistant.save()
    PhoneNumber.objects.create(agency=cast.agency, vapi_id="pn-1", number="+13125550100", assistant=assistant)
    for index in range(6):
        _call(cast, f"usual-{index}", timezone.now() - timedelta(days=10, hours=index))
    _call(cast, "recent", timezone.now() - timedelta(hours=5))
    cast.assistant = assistant
    return cast


def _call(cast, call_id, started_at) -> Call:
    return Call.objects.create(
        agency=cast.agency, client=cast.client_account, vapi_call_id=call_id, started_at=started_at
    )


def run(cast, **kwargs):
    return agency_watchdog_run(agency=cast.agency, **kwargs)


def state_of(cast, check_name) -> str:
    return WatchdogCheck.objects.get(client=cast.client_account, check_name=check_name).state


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


def _sandbox_calendars():
    return SandboxObject.objects.filter(provider="ghl", kind="calendar", parent_id=LOCATION)


def _close_calendars(cast):
    for calendar in _sandbox_calendars():
        calendar.data = {**calendar.data, "openHours": []}
        calendar.save()


def _delete_cleaning(cast):
    _sandbox_calendars().filter(data__name="Cleaning").delete()


def _reconnect(cast):
    sandbox_connect(client=cast.client_account, location_id=LOCATION)


def _tool_errors(cast):
    call = _call(cast, "erring", timezone.now() - timedelta(minutes=20))
    for index in range(3):
        ToolCallRecord.objects.create(call=call, tool_call_id=f"t{index}", name="book_appointment", error="GHL 500")


def _age_tool_errors(cast):
    ToolCallRecord.objects.update(created_at=timezone.now() - timedelta(hours=2))


def _fail_event(cast):
    WebhookEvent.objects.create(
        provider="ghl",
        event_type="AppointmentCreate",
        unique_key="wh-1",
        agency=cast.agency,
        client=cast.client_account,
        body={},
        status=WebhookStatus.FAILED,
        last_error="boom",
    )


def _set_sync(status):
    def change(cast):
        cast.assistant.sync_status = status
        cast.assistant.sync_error = "assistant.model: must be one of gpt-4o" if status == SyncStatus.FAILED else ""
        cast.assistant.save()

    return change


BREAK_AND_FIX = {
    CheckName.GHL_CONNECTION: (
        lambda cast: connection_disconnect(connection=GhlConnection.objects.get(client=cast.client_account)),
        _reconnect,
    ),
    CheckName.CALENDARS: (_delete_cleaning, lambda cast: sandbox_seed()),
    CheckName.FREE_SLOTS: (_close_calendars, lambda cast: (_sandbox_calendars().delete(), sandbox_seed())),
    CheckName.PHONE_NUMBERS: (
        lambda cast: PhoneNumber.objects.all().delete(),
        lambda cast: PhoneNumber.objects.create(agency=cast.agency, vapi_id="pn-2", assistant=cast.assistant),
    ),
    CheckName.VAPI_PUSH: (_set_sync(SyncStatus.FAILED), _set_sync(SyncStatus.SYNCED)),
    CheckName.TOOL_ERRORS: (_tool_errors, _age_tool_errors),
    CheckName.WEBHOOK_EVENTS: (_fail_event, lambda cast: WebhookEvent.objects.update(status=WebhookStatus.PROCESSED)),
    CheckName.CALL_VOLUME: (
        lambda cast: Call.objects.filter(vapi_call_id="recent").delete(),
        lambda cast: _call(cast, "new", timezone.now()),
    ),
}


def test_a_well_set_up_client_passes_every_check_and_nobody_is_emailed(watched):
    rows = run(watched)
    mine = {row.check_name: row.state for row in rows if row.client == watched.client_account}
    assert mine == {name: CheckState.OK for name in CheckName.values}
    assert not Incident.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("check_name", list(BREAK_AND_FIX))
def test_each_check_fails_and_recovers_with_one_alert_each_way(watched, check_name):
    break_it, fix_it = BREAK_AND_FIX[check_name]
    label = CheckName(check_name).label
    run(watched)
    break_it(watched)
    run(watched)
    assert state_of(watched, check_name) == CheckState.FAILING
    (incident,) = Incident.objects.filter(resolved_at=None)
    assert (incident.client, incident.check_name) == (watched.client_account, check_name)
    assert subjects() == [f"[AgencyHub] Failing: {watched.client_account.name}, {label}"]
    assert mail.outbox[0].to == ["owner@a.test"]  # owners and admins, not staff
    run(watched)
    assert len(mail.outbox) == 1, "a check still failing alerts once"

    fix_it(watched)
    run(watched)
    assert state_of(watched, check_name) == CheckState.OK
    assert Incident.objects.get().is_open, "one ok run does not resolve it yet"
    run(watched)
    incident.refresh_from_db()
    assert incident.resolved_at is not None
    name = watched.client_account.name
    assert subjects() == [f"[AgencyHub] Failing: {name}, {label}", f"[AgencyHub] Recovered: {name}, {label}"]
    run(watched)
    assert len(mail.outbox) == 2


def test_the_failing_email_says_what_broke_and_links_the_fix_in_text_and_html(watched, settings):
    settings.PUBLIC_BASE_URL = "https://hub.example.test"
    run(watched)
    _set_sync(SyncStatus.FAILED)(watched)
    run(watched)
    (message,) = mail.outbox
    fix = f"https://hub.example.test/a/{watched.agency.slug}/assistants/{watched.assistant.public_id}/"
    assert "Vapi refused the last push of Front desk: assistant.model: must be one of gpt-4o" in message.body
    assert f"Edit assistant: {fix}" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{fix}"' in html
    assert f"https://hub.example.test/a/{watched.agency.slug}/alerts/" in html


def test_a_calendar_renamed_in_ghl_is_a_warning_that_sends_nothing(watched):
    calendar = _sandbox_calendars().get(data__name="Cleaning")
    calendar.data = {**calendar.data, "name": "Hygiene"}
    calendar.save()
    run(watched)
    row = WatchdogCheck.objects.get(client=watched.client_account, check_name=CheckName.CALENDARS)
    assert row.state == CheckState.WARNING
    assert row.detail == "“Cleaning” of Front desk is now “Hygiene” in GoHighLevel."
    assert mail.outbox == [] and not Incident.objects.exists()


def test_a_token_revoked_in_ghl_is_found_by_a_refresh_and_asks_for_a_reconnect(watched):
    SandboxObject.objects.filter(provider="ghl", kind__in=["access_token", "refresh_token"]).delete()
    run(watched)
    connection = GhlConnection.objects.get(client=watched.client_account)
    assert connection.status == "needs_reconnect"
    row = WatchdogCheck.objects.get(client=watched.client_account, check_name=CheckName.GHL_CONNECTION)
    assert row.state == CheckState.FAILING
    assert row.detail.startswith("GoHighLevel needs a reconnect: Invalid grant")
    assert row.fix_url == f"/a/{watched.agency.slug}/clients/{watched.client_account.public_id}/"


def test_a_check_flapping_between_runs_stays_one_incident_and_one_email(watched):
    run(watched)
    for _ in range(4):
        _set_sync(SyncStatus.FAILED)(watched)
        run(watched)
        _set_sync(SyncStatus.SYNCED)(watched)
        run(watched)
    assert Incident.objects.count() == 1 and Incident.objects.get().is_open
    assert subjects() == [f"[AgencyHub] Failing: {watched.client_account.name}, Last push to Vapi"]
    run(watched)
    assert not Incident.objects.get().is_open
    assert len(mail.outbox) == 2


def test_a_number_nobody_answers_is_an_agency_wide_incident(watched):
    run(watched)
    PhoneNumber.objects.create(agency=watched.agency, vapi_id="pn-spare", number="+13125550199")
    run(watched)
    incident = Incident.objects.get()
    assert incident.client is None and incident.check_name == CheckName.PHONE_NUMBERS
    assert "+13125550199" in incident.detail
    assert subjects() == ["[AgencyHub] Failing: Agency-wide, Phone numbers"]


def test_quiet_hours_hold_alerts_and_send_one_summary_when_they_end(watched):
    from voice.watchdog.models import AlertSettings

    now = timezone.now()
    AlertSettings.objects.create(
        agency=watched.agency,
        quiet_hours_start=(now - timedelta(hours=1)).time(),
        quiet_hours_end=(now + timedelta(hours=1)).time(),
        time_zone="UTC",
    )
    run(watched)
    _set_sync(SyncStatus.FAILED)(watched)
    _fail_event(watched)
    run(watched, now=now)
    assert Incident.objects.filter(resolved_at=None).count() == 2
    assert mail.outbox == []
    run(watched, now=now + timedelta(minutes=30))
    assert mail.outbox == []
    run(watched, now=now + timedelta(hours=1, minutes=15))
    assert subjects() == ["[AgencyHub] 2 watchdog alerts for Agency A"]
    assert "Last push to Vapi: FAILING" in mail.outbox[0].body
    assert "Webhook events: FAILING" in mail.outbox[0].body
    run(watched, now=now + timedelta(hours=1, minutes=30))
    assert len(mail.outbox) == 1


def test_watchdog_run_prints_each_checks_state(watched, capsys):
    call_command("watchdog_run", "--agency", watched.agency.slug)
    _set_sync(SyncStatus.FAILED)(watched)
    call_command("watchdog_run", "--agency", watched.agency.slug)
    out = capsys.readouterr().out.splitlines()
    header, *rows, total = out[len(out) // 2 :]
    assert header.split()[:6] == ["agency", "client", "check", "state", "since", "detail"]
    failing = [row for row in rows if " failing " in row]
    assert len(failing) == 1
    assert failing[0].startswith("agency-a") and watched.client_account.name in failing[0] and "vapi_push" in failing[0]
    assert "Vapi refused the last push of Front desk" in failing[0]
    assert total.endswith("1 failing.")
    assert not any("B Plumbing" in line for line in out), "--agency runs that agency only"


def test_watchdog_run_refuses_an_unknown_agency(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No agency with slug"):
        call_command("watchdog_run", "--agency", "nope")


def test_the_beat_runs_the_watchdog_for_every_agency_every_quarter_hour(watched, settings):
    from agencyhub.celery import app
    from voice.watchdog.tasks import watchdog_run_task

    entry = settings.CELERY_BEAT_SCHEDULE["watchdog-run"]
    assert entry["schedule"] == 900.0 and entry["task"] in app.tasks
    assert watchdog_run_task.delay().get() == 2
    assert WatchdogCheck.objects.filter(agency=watched.agency_b).exists()
    assert WatchdogCheck.objects.filter(agency=watched.agency, client=watched.client_account).count() == 9


def _app_queries_of_a_run(cast) -> list[str]:
    """The run's own queries; the GHL sandbox answering in-process keeps its state in the database too."""
    with CaptureQueriesContext(connection) as captured:
        run(cast)
    return [q["sql"] for q in captured.captured_queries if "sandbox_sandboxobject" not in q["sql"]]


def test_a_run_reads_the_agency_in_the_same_few_queries_however_many_clients(watched):
    from tenants.services import client_create

    run(watched)
    before = _app_queries_of_a_run(watched)
    for index in range(5):
        client_create(agency=watched.agency, name=f"Extra {index}", time_zone="UTC")
    run(watched)  # the new clients' first verdicts are written once
    after = _app_queries_of_a_run(watched)
    assert len(after) == len(before) <= 21  # the ready GHL client reads the connection once per probe
