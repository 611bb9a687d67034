"""The Alerts page, acknowledging, the agency's alert settings and the Slack-compatible webhook (respx, no network)."""

import json

import httpx
import pytest
import respx
from django.core import mail
from django.db import connection
from django.utils import timezone

from tests.factories import AssistantFactory
from voice.models import PhoneNumber, SyncStatus
from voice.watchdog.alerts import alerts_deliver
from voice.watchdog.models import AlertSettings, CheckName, Incident
from voice.watchdog.services import agency_watchdog_run

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.chat.example/services/T000/B000/XXXX"


@pytest.fixture
def failing(cast):
    """A client whose assistant Vapi refused, after one watchdog run: one open incident."""
    assistant = AssistantFactory(client=cast.client_account)
    assistant.sync_status, assistant.sync_error = SyncStatus.FAILED, "voice.voiceId is not valid"
    assistant.save()
    PhoneNumber.objects.create(agency=cast.agency, vapi_id="pn-1", number="+13125550100", assistant=assistant)
    cast.assistant = assistant
    return cast


def _open_incident(cast) -> Incident:
    return Incident.objects.get(agency=cast.agency, check_name=CheckName.VAPI_PUSH, resolved_at=None)


def test_alerts_page_lists_open_and_past_incidents_and_is_in_the_nav(failing, as_user):
    agency_watchdog_run(agency=failing.agency)
    Incident.objects.create(
        agency=failing.agency,
        client=failing.other_client,
        check_name=CheckName.CALL_VOLUME,
        detail="No call in 3 days, after 9 in the 28 days before.",
        resolved_at=timezone.now(),
    )
    page = as_user(failing.staff).get(f"/a/{failing.agency.slug}/alerts/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Vapi refused the last push of Front desk: voice.voiceId is not valid" in html
    assert "No call in 3 days, after 9 in the 28 days before." in html
    assert [i.check_name for i in page.context["open_incidents"]] == [CheckName.VAPI_PUSH]
    assert [i.check_name for i in page.context["past_page"].object_list] == [CheckName.CALL_VOLUME]
    assert f'href="/a/{failing.agency.slug}/alerts/"' in html
    assert page.context["form"] is None, "staff do not change where alerts go"


def test_acknowledge_records_who_is_on_it(failing, as_user):
    agency_watchdog_run(agency=failing.agency)
    incident = _open_incident(failing)
    response = as_user(failing.staff).post(f"/a/{failing.agency.slug}/alerts/{incident.public_id}/acknowledge/")
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.acknowledged_by == failing.staff and incident.acknowledged_at is not None
    assert incident.is_open, "acknowledging does not resolve"
    page = as_user(failing.staff).get(f"/a/{failing.agency.slug}/alerts/").content.decode()
    assert "acknowledged by staff@a.test" in page


def test_outsiders_and_the_clients_admin_get_404_for_the_page_and_acknowledge(failing, client):
    agency_watchdog_run(agency=failing.agency)
    incident = _open_incident(failing)
    for stranger in (failing.outsider, failing.client_admin):
        client.force_login(stranger)
        assert client.get(f"/a/{failing.agency.slug}/alerts/").status_code == 404
        assert client.post(f"/a/{failing.agency.slug}/alerts/{incident.public_id}/acknowledge/").status_code == 404
    client.force_login(failing.outsider)
    # B's own slug does not reach A's incident either.
    url = f"/a/{failing.agency_b.slug}/alerts/{incident.public_id}/acknowledge/"
    assert client.post(url).status_code == 404
    incident.refresh_from_db()
    assert incident.acknowledged_at is None


def test_the_clients_portal_shows_nothing_of_the_watchdog(failing, as_user):
    agency_watchdog_run(agency=failing.agency)
    portal = as_user(failing.client_admin)
    for url in (f"/c/{failing.client_account.public_id}/", f"/c/{failing.client_account.public_id}/calls/"):
        html = portal.get(url).content.decode()
        assert "Vapi refused" not in html and "/alerts/" not in html and "Alerts" not in html


def test_open_incidents_show_in_the_dashboards_attention_list(cast, as_user):
    Incident.objects.create(
        agency=cast.agency,
        client=cast.client_account,
        check_name=CheckName.FREE_SLOTS,
        detail="No free slot in the next 7 days in Cleaning: callers cannot book.",
        fix_label="Check calendars",
        fix_url="/somewhere/",
    )
    html = as_user(cast.owner).get(f"/a/{cast.agency.slug}/").content.decode()
    assert "No free slot in the next 7 days in Cleaning: callers cannot book." in html
    assert 'href="/somewhere/">Check calendars</a>' in html
    client_page = as_user(cast.owner).get(f"/a/{cast.agency.slug}/clients/{cast.other_client.public_id}/dashboard/")
    assert "No free slot" not in client_page.content.decode(), "another client's incident is not its attention"


def test_owner_saves_quiet_hours_and_a_webhook_that_is_stored_encrypted_and_never_shown(cast, as_user):
    owner = as_user(cast.owner)
    url = f"/a/{cast.agency.slug}/alerts/settings/"
    data = {"slack_webhook_url": HOOK, "quiet_hours_start": "22:00", "quiet_hours_end": "07:00", "time_zone": "UTC"}
    assert owner.post(url, data).status_code == 302
    saved = AlertSettings.objects.get(agency=cast.agency)
    assert saved.slack_webhook_url == HOOK
    assert (str(saved.quiet_hours_start), str(saved.quiet_hours_end)) == ("22:00:00", "07:00:00")
    with connection.cursor() as cursor:
        cursor.execute("SELECT slack_webhook_url FROM voice_alertsettings WHERE id = %s", [saved.pk])
        assert HOOK not in cursor.fetchone()[0]
    page = owner.get(f"/a/{cast.agency.slug}/alerts/").content.decode()
    assert "A chat webhook is saved" in page and "XXXX" not in page
    # Saving again without a URL keeps it; "remove" deletes it.
    owner.post(url, {**data, "slack_webhook_url": ""})
    assert AlertSettings.objects.get(agency=cast.agency).slack_webhook_url == HOOK
    owner.post(url, {**data, "slack_webhook_url": "", "remove_slack_webhook": "on"})
    assert AlertSettings.objects.get(agency=cast.agency).slack_webhook_url == ""


def test_alert_settings_refuse_plain_http_and_half_quiet_hours_and_staff(cast, as_user):
    url = f"/a/{cast.agency.slug}/alerts/settings/"
    owner = as_user(cast.owner)
    response = owner.post(url, {"slack_webhook_url": "http://10.0.0.1/hook", "time_zone": "UTC"})
    assert response.status_code == 400
    assert "Use the https:// URL your chat tool gave you." in response.content.decode()
    response = owner.post(url, {"quiet_hours_start": "22:00", "time_zone": "UTC"})
    assert "Give both ends of the quiet hours, or neither." in response.content.decode()
    assert not AlertSettings.objects.exists()
    assert as_user(cast.staff).post(url, {"time_zone": "UTC"}).status_code == 403


def test_the_webhook_gets_one_post_each_way_alongside_the_email(failing):
    router = respx.mock(assert_all_called=True)
    route = router.post(HOOK).mock(return_value=httpx.Response(200, text="ok"))
    AlertSettings.objects.create(agency=failing.agency, slack_webhook_url=HOOK)
    with router:
        _runs_failing_then_recovered(failing)
        assert route.call_count == 2
        first, second = (json.loads(call.request.content)["text"] for call in route.calls)
    assert len(mail.outbox) == 2
    assert first.startswith("Failing: A Dental, Last push to Vapi")
    assert "voice.voiceId is not valid" in first
    assert second.startswith("Recovered: A Dental, Last push to Vapi")


def _runs_failing_then_recovered(failing):
    agency_watchdog_run(agency=failing.agency)
    agency_watchdog_run(agency=failing.agency)
    failing.assistant.sync_status = SyncStatus.SYNCED
    failing.assistant.save()
    agency_watchdog_run(agency=failing.agency)
    agency_watchdog_run(agency=failing.agency)


def test_a_failing_webhook_does_not_stop_the_email_and_is_shown_to_the_owner(failing, as_user):
    AlertSettings.objects.create(agency=failing.agency, slack_webhook_url=HOOK)
    with respx.mock(assert_all_called=True) as router:
        route = router.post(HOOK).mock(return_value=httpx.Response(500, text="no_service"))
        agency_watchdog_run(agency=failing.agency)
        assert route.call_count == 1, "a 5xx to a POST may have been posted: never sent twice"
    assert len(mail.outbox) == 1
    assert _open_incident(failing).failing_alerted_at is not None
    assert "500" in AlertSettings.objects.get().slack_last_error
    page = as_user(failing.owner).get(f"/a/{failing.agency.slug}/alerts/").content.decode()
    assert "The last post to the chat webhook failed" in page


def test_nothing_pending_sends_nothing(cast):
    assert alerts_deliver(agency=cast.agency, now=timezone.now()) == 0
    assert mail.outbox == []
