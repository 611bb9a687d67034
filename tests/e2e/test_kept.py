"""Kept appointments in Chromium: the business marks a visit showed in the sandbox's GHL calendar, the
AppointmentUpdate webhook reaches the app, the client's kept funnel moves, and the client's admin opens the
monthly report in their portal."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.browser import sign_in
from tests.voice.kept.conftest import LOCATION, booked, on_sandbox
from voice.models import Booking

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kept(cast, settings):
    return on_sandbox(cast, settings)


def test_marking_showed_in_the_sandbox_moves_the_kept_funnel(kept, live_server, page, screenshot):
    base = live_server.url
    booking = booked(kept, "appt-e2e", timezone.now() - timedelta(hours=2), created_at=timezone.now())
    dashboard = f"{base}/a/{kept.agency.slug}/clients/{kept.client_account.public_id}/dashboard/"
    funnel = page.get_by_test_id("kept-funnel")

    sign_in(page, base, kept.owner.email)
    page.goto(dashboard)
    expect(funnel.locator('[data-stat="funnel-booked"]')).to_have_text("1")
    expect(funnel.locator('[data-stat="funnel-kept"]')).to_have_text("0")

    page.goto(f"{base}/sandbox/ghl/appointments/?locationId={LOCATION}")
    row = page.locator('[data-appointment="appt-e2e"]')
    row.get_by_role("button", name="Mark showed").click()
    expect(page.get_by_test_id("sandbox-notice")).to_contain_text("webhook was sent")
    expect(page.locator('[data-appointment="appt-e2e"]').get_by_test_id("appointment-status")).to_have_text("showed")

    page.goto(dashboard)
    expect(funnel.locator('[data-stat="funnel-kept"]')).to_have_text("1")
    expect(funnel.locator('[data-stat="kept-rate"]')).to_have_text("100%")
    screenshot("kept_funnel")
    page.goto(f"{base}/a/{kept.agency.slug}/bookings/?when=past")
    expect(page.get_by_test_id("ghl-status")).to_have_text(re.compile("Kept"))
    booking.refresh_from_db()
    assert booking.ghl_status == "showed"

    page.context.clear_cookies()
    sign_in(page, base, kept.client_admin.email)
    page.get_by_role("link", name="Monthly report").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto(f"{page.url}?month={timezone.now():%Y-%m}")
    expect(page.get_by_role("heading", name=f"{timezone.now():%B %Y}")).to_be_visible()
    expect(funnel.locator('[data-stat="funnel-kept"]')).to_have_text("1")
    screenshot("client_report")


def test_the_funnel_and_the_report_fit_a_phone(kept, live_server, browser):
    from tests.e2e.test_phone import PHONE, _fits

    booked(kept, "appt-phone", timezone.now() - timedelta(hours=2), ghl_status="showed")
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    base, client_id = live_server.url, kept.client_account.public_id
    sign_in(phone, base, kept.owner.email)
    for name, path in (
        ("client_dashboard_funnel", f"/a/{kept.agency.slug}/clients/{client_id}/dashboard/"),
        ("service_values", f"/a/{kept.agency.slug}/clients/{client_id}/services/"),
        ("sandbox_appointments", "/sandbox/ghl/appointments/"),
        ("client_report", f"/c/{client_id}/report/"),
    ):
        phone.goto(base + path)
        expect(phone.get_by_role("heading", level=1)).to_be_visible()
        _fits(phone, name)
    context.close()


def test_the_loop_closes_in_ghl_from_a_text_template_to_the_monthly_report(
    sim, live_server, page, screenshot, settings
):
    """Issue 14's journey: configure reminders and an SMS template, simulate a booked call, see the text in
    the sandbox's GHL and on the booking, see the kept funnel move when the business marks the visit showed,
    and open the month's report as the client's admin."""
    settings.SANDBOX = True
    base, slug, client_id = live_server.url, sim.agency.slug, sim.client_account.public_id
    funnel = page.get_by_test_id("kept-funnel")
    sign_in(page, base, sim.owner.email)

    page.goto(f"{base}/a/{slug}/clients/{client_id}/messaging/")
    page.get_by_label("Booking confirmation").fill(
        "{name}, you're booked for {service} on {date} at {time}. {how_to_change}"
    )
    page.get_by_label("How to change it").fill("To change it, call 312-555-0100.")
    page.get_by_label("Reminders before each appointment").fill("24h, 2h")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("Reminders before each appointment")).to_have_value("24h, 2h")

    page.goto(f"{base}/a/{slug}/assistants/{sim.assistant.public_id}/")
    page.get_by_role("button", name="Simulate a call").click()
    expect(page.get_by_role("alert").or_(page.get_by_role("status")).first).to_contain_text("Simulated a call")

    page.goto(f"{base}/a/{slug}/bookings/")
    expect(page.locator("tbody tr").first).to_contain_text("SMS sent")
    screenshot("journey_booking_sms")
    (booking,) = Booking.objects.filter(call__client=sim.client_account)
    page.goto(f"{base}/sandbox/ghl/appointments/?locationId={LOCATION}")
    row = page.locator(f'[data-appointment="{booking.ghl_appointment_id}"]')
    expect(row.get_by_test_id("sandbox-text")).to_contain_text("To change it, call 312-555-0100.")
    expect(row.get_by_test_id("sandbox-text")).to_contain_text("you're booked for")

    dashboard = f"{base}/a/{slug}/clients/{client_id}/dashboard/"
    page.goto(dashboard)
    expect(funnel.locator('[data-stat="funnel-booked"]')).to_have_text("1")
    expect(funnel.locator('[data-stat="funnel-kept"]')).to_have_text("0")
    page.goto(f"{base}/sandbox/ghl/appointments/?locationId={LOCATION}")
    row.get_by_role("button", name="Mark showed").click()
    expect(page.get_by_test_id("sandbox-notice")).to_contain_text("webhook was sent")
    page.goto(dashboard)
    expect(funnel.locator('[data-stat="funnel-kept"]')).to_have_text("1")

    page.context.clear_cookies()
    sign_in(page, base, sim.client_admin.email)
    page.get_by_role("link", name="Monthly report").click()
    page.goto(f"{page.url.split('?')[0]}?month={timezone.now():%Y-%m}")
    expect(page.get_by_role("heading", name=f"{timezone.now():%B %Y}")).to_be_visible()
    expect(funnel.locator('[data-stat="funnel-kept"]')).to_have_text("1")
    screenshot("journey_client_report")
