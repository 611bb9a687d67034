"""The watchdog in Debian's Chromium against the live server: a client's GHL install is revoked in the sandbox,
the watchdog opens an incident the owner sees on the Alerts page and in the mailbox; reconnecting recovers it."""

import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from integrations.ghl.demo import sandbox_connect
from integrations.ghl.sandbox import sandbox_seed
from integrations.sandbox.models import SandboxObject
from tests.factories import AssistantFactory
from voice.assistants.selectors import client_calendars
from voice.models import PhoneNumber, SyncStatus

pytestmark = pytest.mark.django_db(transaction=True)

LOCATION = "sbxLocChicago0000001"


def watchdog_run() -> str:
    out = StringIO()
    call_command("watchdog_run", stdout=out)
    return out.getvalue()


def set_up_client(cast):
    sandbox_seed()
    sandbox_connect(client=cast.client_account, location_id=LOCATION)
    assistant = AssistantFactory(client=cast.client_account, time_zone="America/Chicago")
    assistant.calendars.all().delete()
    for calendar in client_calendars(client=cast.client_account):
        assistant.calendars.create(calendar_id=calendar["id"], calendar_name=calendar["name"], spoken_name="visit")
    assistant.sync_status = SyncStatus.SYNCED
    assistant.save()
    PhoneNumber.objects.create(agency=cast.agency, vapi_id="pn-1", number="+13125550100", assistant=assistant)


def test_a_revoked_ghl_install_is_alerted_and_recovers_after_reconnect(cast, live_server, page, screenshot, settings):
    from tests.e2e.browser import sign_in

    base = live_server.url
    settings.PUBLIC_BASE_URL = base
    set_up_client(cast)
    assert " failing " not in watchdog_run()

    # The client's admin uninstalls the app in GHL: every token of the location stops working.
    SandboxObject.objects.filter(provider="ghl", kind__in=["access_token", "refresh_token"]).delete()
    output = watchdog_run()
    # Connecting never renames the client: alerts name it as the agency does ("A Dental"), not as GHL does.
    assert re.search(r"A Dental\s+ghl_connection\s+failing", output), output
    (alert,) = mail.outbox
    assert alert.subject == "[AgencyHub] Failing: A Dental, GoHighLevel connection"
    assert alert.to == [cast.owner.email]

    sign_in(page, base, cast.owner.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    expect(page).to_have_url(re.compile(f"/a/{cast.agency.slug}/alerts/$"))
    incidents = page.locator("section", has=page.get_by_role("heading", name=re.compile("^Open incidents")))
    expect(incidents.get_by_text("GoHighLevel needs a reconnect")).to_be_visible()
    incidents.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text(f"acknowledged by {cast.owner.email}")).to_be_visible()
    screenshot("watchdog_alerts_failing")

    # The fix link leads to the client, whose Reconnect goes through the sandbox's consent chooser.
    incidents.get_by_role("link", name="Reconnect").click()
    page.get_by_role("button", name="Reconnect", exact=True).click()
    page.get_by_text("Lakeside Dental").click()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_text("connected", exact=False).first).to_be_visible()

    watchdog_run()
    assert len(mail.outbox) == 1, "one ok run does not resolve the incident yet"
    output = watchdog_run()
    assert re.search(r"A Dental\s+ghl_connection\s+ok", output), output
    assert [m.subject for m in mail.outbox][1] == "[AgencyHub] Recovered: A Dental, GoHighLevel connection"

    page.goto(f"{base}/a/{cast.agency.slug}/alerts/")
    expect(page.get_by_text("Nothing is failing")).to_be_visible()
    past = page.locator("section", has=page.get_by_role("heading", name="Past incidents"))
    expect(past.locator("tbody tr")).to_have_count(1)
    expect(past.locator("tbody tr")).to_contain_text("GoHighLevel connection")
    screenshot("watchdog_alerts_recovered")
