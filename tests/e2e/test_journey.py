"""The whole journey in Debian's Chromium against the live server in sandbox mode: a new staff member signs up
through an invitation, adds a client, connects it through the sandbox consent link, creates its assistant, and
the client's admin later sees only their own account."""

import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from tenants.models import ClientAccount
from tests.e2e.browser import SCREENSHOTS, sign_in
from voice.models import Call

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a long and unguessable passphrase"


# Resolves once the browser could play the recording through (the sandbox serves a real WAV); gives its length.
PLAY_READY = """audio => new Promise((resolve, reject) => {
    audio.addEventListener("canplaythrough", () => resolve(audio.duration), {once: true});
    audio.addEventListener("error", () => reject(new Error("recording failed to load")), {once: true});
    audio.preload = "auto";
    audio.load();
})"""


def other_clients_call(cast) -> Call:
    """A call of another client of the same agency, which the client's admin must never see."""
    return Call.objects.create(
        agency=cast.agency,
        client=cast.client_account,
        vapi_call_id="call-of-a-dental",
        caller_number="+13125550100",
        transcript="AI: Hello\nUser: My molar hurts",
        started_at=timezone.now(),
    )


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
    from integrations.vapi.sandbox import sandbox_api_key

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

    sign_up_through_invitation(page, base, "newbie@a.test")  # signing up accepts: no second click
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

    # A simulated caller rings, checks availability and books, through the app's own Vapi endpoint.
    page.get_by_role("button", name="Simulate a call").click()
    expect(page.get_by_role("heading", name=re.compile("^Call with"))).to_be_visible()
    bookings = page.locator("section", has=page.get_by_role("heading", name="Bookings"))
    expect(bookings.get_by_text("Cleaning")).to_be_visible()
    expect(bookings.get_by_text("Booked")).to_be_visible()
    audio = page.locator("audio")
    assert audio.evaluate(PLAY_READY) > 0
    screenshot("journey_call")
    call_page = page.url

    # Found again among the agency's calls by a word the caller said.
    other = other_clients_call(cast)
    call = Call.objects.get(client=client)
    surname = call.bookings.get().caller_name.split()[-1]
    assert surname in call.transcript and surname not in other.transcript
    nav.get_by_role("link", name="Calls").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    page.get_by_role("searchbox", name="Search transcripts").fill(surname)
    page.get_by_role("searchbox", name="Search transcripts").press("Enter")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text(call.caller_number)
    screenshot("journey_call_search")
    page.locator("tbody tr a").first.click()
    expect(page).to_have_url(call_page)

    # The client's admin is invited, signs up, and sees their own account only.
    page.goto(client_page)
    page.get_by_placeholder("name@client.com").fill("boss@lakeside.test")
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_text("Invitation sent to boss@lakeside.test.")).to_be_visible()

    boss = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    sign_up_through_invitation(boss, base, "boss@lakeside.test")
    expect(boss).to_have_url(re.compile(f"/c/{client.public_id}/$"))
    expect(boss.get_by_role("heading", name="Lakeside Dental")).to_be_visible()
    expect(boss.get_by_text("Vapi cost")).to_have_count(0)
    boss.screenshot(path=str(SCREENSHOTS / "journey_client_portal.png"), full_page=True)
    boss.get_by_role("navigation", name="Main").get_by_role("link", name="Calls").click()
    expect(boss.locator("tbody tr")).to_have_count(1)
    boss.locator("tbody tr a").first.click()
    expect(boss.get_by_role("heading", name=re.compile("^Call with"))).to_be_visible()
    expect(boss.get_by_role("heading", name="Cost")).to_have_count(0)
    boss.screenshot(path=str(SCREENSHOTS / "journey_client_call.png"), full_page=True)
    for forbidden in (call_page, f"{base}/a/{slug}/", f"{base}/c/{other.client.public_id}/calls/{other.public_id}/"):
        assert boss.goto(forbidden).status == 404, forbidden
    boss.context.close()
