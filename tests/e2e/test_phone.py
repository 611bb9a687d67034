"""The portal on a phone (390 x 844): a menu instead of the sidebar, no page wider than the screen, the calls
table readable with its outcome and cost in view, the call page's player usable; and the client hub."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import SCREENSHOTS, sign_in
from voice.models import Booking, Call
from voice.simulator.services import Scenario, call_simulate

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def calls(sim):
    """Three simulated calls through the real endpoint (booked, transferred, hung up), processed at once."""
    for scenario in (Scenario.BOOKED, Scenario.TRANSFERRED, Scenario.HANG_UP):
        call_simulate(assistant=sim.assistant, scenario=scenario, seed=f"phone-{scenario}")
    assert Call.objects.filter(client=sim.client_account).count() == 3
    assert Booking.objects.filter(client=sim.client_account).exists()
    return sim


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def _fits(page, name: str) -> None:
    """No sideways scrolling: the page is no wider than the phone; and a screenshot for the record."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    widest = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth)"
        ".slice(-3).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').trim().slice(0, 40))"
    )
    assert widths[0] <= widths[1], f"{name}: {widths[0]} px wide in a {widths[1]} px screen: {widest}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"phone_{name}.png"), full_page=True)


def test_agency_pages_fit_a_phone(calls, live_server, phone):
    base, slug = live_server.url, calls.agency.slug
    sign_in(phone, base, calls.owner.email)
    expect(phone).to_have_url(re.compile(f"/a/{slug}/$"))
    # The sidebar is a menu: the page starts with its own content, and the menu opens on demand.
    nav = phone.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    assert phone.get_by_role("heading", level=1).bounding_box()["y"] < 250  # was 611-1,187 px down
    _fits(phone, "dashboard")
    phone.get_by_test_id("menu-toggle").click()
    menu = phone.locator("#sidebar")  # an open offcanvas is a dialog, no longer the navigation landmark
    expect(menu.get_by_role("link", name="Calls")).to_be_visible()
    menu.get_by_role("link", name="Calls").click()
    expect(phone).to_have_url(re.compile(f"/a/{slug}/calls/$"))

    # Calls: rows stack as cards; each outcome and cost is on screen, not off to the right.
    rows = phone.locator("#call-results tbody tr")
    expect(rows).to_have_count(3)
    for cell in ('[data-label="Outcome"]', '[data-label="Cost"]'):
        box = rows.first.locator(cell).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], cell
    expect(rows.first.get_by_text(re.compile(r"^\$\d+\.\d\d$"))).to_be_visible()
    _fits(phone, "calls")

    # The call page: the player spans the screen and the transcript wraps.
    phone.locator("#call-results tbody tr").first.get_by_role("link").first.click()
    expect(phone.get_by_role("heading", name="Conversation")).to_be_visible()
    player = phone.locator("audio").first.bounding_box()
    assert player["width"] > 250 and player["x"] + player["width"] <= PHONE["width"]
    _fits(phone, "call")

    phone.goto(f"{base}/a/{slug}/bookings/")
    expect(phone.get_by_role("heading", name="Bookings")).to_be_visible()
    _fits(phone, "bookings")

    phone.goto(f"{base}/a/{slug}/clients/{calls.client_account.public_id}/")
    expect(phone.get_by_test_id("hub-assistant")).to_be_visible()
    _fits(phone, "client_hub")


def test_the_clients_own_portal_fits_a_phone(calls, live_server, phone):
    base, client_id = live_server.url, calls.client_account.public_id
    sign_in(phone, base, calls.client_admin.email)
    expect(phone).to_have_url(re.compile(f"/c/{client_id}/$"))
    expect(phone.get_by_role("heading", name="Recent calls")).to_be_visible()
    _fits(phone, "portal")
    phone.goto(f"{base}/c/{client_id}/calls/")
    expect(phone.locator("#call-results tbody tr")).to_have_count(3)
    _fits(phone, "portal_calls")


def test_a_recording_plays_from_the_calls_list(calls, live_server, page):
    sign_in(page, live_server.url, calls.owner.email)
    page.goto(f"{live_server.url}/a/{calls.agency.slug}/calls/")
    expect(page.locator("audio")).to_have_count(0)  # nothing is loaded until asked
    page.locator("#call-results tbody tr").first.get_by_role("button", name=re.compile("Play the recording")).click()
    audio = page.locator("#call-results audio")
    expect(audio).to_have_count(1)
    assert "/sandbox/vapi/recordings/" in audio.get_attribute("src")


def test_the_client_hub_shows_assistant_calls_bookings_connection_and_users(calls, live_server, page, screenshot):
    sign_in(page, live_server.url, calls.owner.email)
    page.goto(f"{live_server.url}/a/{calls.agency.slug}/clients/{calls.client_account.public_id}/")
    hub = page.get_by_test_id("hub-assistant")
    expect(hub.get_by_text(calls.assistant.name)).to_be_visible()
    expect(hub.get_by_role("button", name="Simulate a call")).to_be_visible()
    expect(page.get_by_test_id("hub-calls").locator("li")).to_have_count(3)
    expect(page.get_by_test_id("hub-bookings").locator("li")).to_have_count(1)
    expect(page.get_by_role("heading", name="GoHighLevel connection")).to_be_visible()
    expect(page.get_by_text("admin@client-a.test")).to_be_visible()
    expect(page.get_by_text("will appear here once configured")).to_have_count(0)
    screenshot("client_hub")

    page.get_by_test_id("view-as-client").click()
    expect(page.get_by_test_id("view-as-client-banner")).to_be_visible()
    expect(page.get_by_role("heading", name="Recent calls")).to_be_visible()
    screenshot("view_as_client")
