"""The whole journey in Debian's Chromium against the live server in sandbox mode: a new staff member signs up
through an invitation, adds a client, connects it through the sandbox consent link, creates its assistant, and
the client's admin later sees only their own account."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tenants.models import ClientAccount

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a long and unguessable passphrase"


def link_in_last_email(to: str) -> str:
    (message,) = [m for m in mail.outbox if to in m.to]
    return re.search(r"https?://\S+", message.body).group(0)


def sign_up_through_invitation(page, base: str, email: str):
    invitation = link_in_last_email(email)
    page.goto(base + invitation[invitation.index("/invitations/") :])
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign Up").click()


def test_a_new_staff_member_sets_up_a_client_end_to_end(cast, live_server, browser, page, screenshot, settings):
    from tests.e2e.test_portal import sign_in
    from voice.vapi.sandbox import sandbox_api_key

    base = live_server.url
    # Links the app hands out (the sandbox chooser, the OAuth callback, recordings) point at this server.
    settings.PUBLIC_BASE_URL = base
    slug = cast.agency.slug
    sign_in(page, base, cast.owner.email)
    page.goto(f"{base}/a/{slug}/settings/vapi/")
    page.get_by_label("Vapi private API key").fill(sandbox_api_key())
    page.get_by_role("button", name="Save key").click()
    expect(page.get_by_text("Works")).to_be_visible()
    page.goto(f"{base}/a/{slug}/settings/ghl/")
    page.get_by_label("Client ID").fill("journey-marketplace-app")
    page.get_by_label("Client secret").fill("journey-marketplace-secret")
    page.get_by_role("button", name="Save").click()
    page.goto(f"{base}/a/{slug}/team/invite/")
    page.get_by_label("Email").fill("newbie@a.test")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to newbie@a.test.")).to_be_visible()
    page.context.clear_cookies()

    sign_up_through_invitation(page, base, "newbie@a.test")
    page.get_by_role("button", name="Accept invitation").click()
    expect(page.get_by_text("Welcome to Agency A.")).to_be_visible()
    expect(page).to_have_url(re.compile(f"/a/{slug}/$"))

    # A new client, connected by its own admin through the consent link (GHL's sandbox chooser).
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Clients").click()
    page.get_by_role("link", name="Add client").click()
    page.get_by_label("Business name").fill("Lakeside Dental")
    page.get_by_label("Time zone").select_option("America/Chicago")
    page.get_by_role("button", name="Add client").click()
    client_page = page.url
    page.get_by_role("button", name="Consent link for the client").click()
    consent_url = page.locator("#consent-url").input_value()
    screenshot("journey_consent_link")

    client_admin = browser.new_context().new_page()
    client_admin.goto(consent_url)
    client_admin.get_by_role("button", name="Continue to GoHighLevel").click()
    client_admin.get_by_text("Lakeside Dental").click()
    client_admin.get_by_role("button", name="Allow").click()
    expect(client_admin.get_by_text("connected", exact=False).first).to_be_visible()
    client_admin.context.close()
    client = ClientAccount.objects.get(agency=cast.agency, name="Lakeside Dental")
    assert client.ghl_connection.status == "connected"

    # Its assistant, through the form, pushed to Vapi's sandbox.
    page.goto(client_page)
    nav.get_by_role("link", name="Assistants").click()
    page.get_by_role("button", name="New assistant").click()
    page.get_by_role("link", name="for Lakeside Dental").click()
    page.get_by_label("Name", exact=True).fill("Front desk")
    page.get_by_label("Calendar “Cleaning”: spoken name").fill("cleaning")
    page.get_by_role("button", name="Save and push to Vapi").click()
    expect(page.get_by_text("Synced").first).to_be_visible()
    screenshot("journey_assistant")
