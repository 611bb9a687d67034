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
