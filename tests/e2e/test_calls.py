import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.browser import sign_in
from tests.factories import AssistantFactory
from voice.models import Booking, BookingStatus, Call, CallOutcome

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def history(cast):
    now = timezone.now()
    desk = AssistantFactory(client=cast.client_account, name="Dental desk")
    rows = [
        ("+13125550101", CallOutcome.BOOKED, "customer-ended-call", 95, "User: I need a root canal next week."),
        ("+13125550102", CallOutcome.TRANSFERRED, "assistant-forwarded-call", 210, "User: Can I talk about my bill?"),
        ("+13125550103", CallOutcome.NO_BOOKING, "silence-timed-out", 12, "User: ..."),
        ("+13125550104", CallOutcome.FAILED, "pipeline-error-openai-llm-failed", 40, "User: Hello? Hello?"),
    ]
    for i, (caller, outcome, reason, seconds, transcript) in enumerate(rows):
        call = Call.objects.create(
            agency=cast.agency,
            client=cast.client_account if i % 2 == 0 else cast.other_client,
            assistant=desk if i % 2 == 0 else None,
            vapi_call_id=f"call-{i}",
            caller_number=caller,
            started_at=now - timedelta(hours=3 * i + 1),
            duration_seconds=seconds,
            outcome=outcome,
            ended_reason=reason,
            cost=Decimal("0.08") * seconds / 60,
            transcript=transcript,
        )
        if outcome == CallOutcome.BOOKED:
            Booking.objects.create(
                client=call.client,
                call=call,
                tool_call_id="t1",
                calendar_id="cal-clean",
                calendar_name="Dental cleaning",
                caller_name="Ada Lovelace",
                caller_phone=caller,
                start=now + timedelta(days=2),
                status=BookingStatus.BOOKED,
            )


def test_staff_filter_search_and_export_calls(cast, history, live_server, page, screenshot):
    sign_in(page, live_server.url, cast.owner.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calls").click()
    expect(page.locator("#call-results tbody tr")).to_have_count(4)
    # The rows are there before htmx (a deferred script) has bound the search box: typing sooner is lost.
    page.wait_for_load_state()
    screenshot("calls_list")

    page.get_by_role("searchbox", name="Search transcripts").fill("canal")
    expect(page.locator("#call-results tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/calls/\?q=canal(&sort=newest)?$"))  # empty fields left out
    page.get_by_role("searchbox", name="Search transcripts").fill("")
    page.get_by_label("Outcome").select_option("transferred")
    expect(page.locator("#call-results tbody tr")).to_have_count(1)
    expect(page.locator("#call-results")).to_contain_text("+13125550102")
    screenshot("calls_filtered")

    page.get_by_role("button", name="Export CSV").click()
    expect(page.get_by_role("heading", name="Calls export (CSV)")).to_be_visible()
    expect(page.get_by_role("progressbar")).to_contain_text("100%")
    expect(page.get_by_text("1 call exported.")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert "+13125550102" in download.value.path().read_text(encoding="utf-8-sig")
    screenshot("calls_export_done")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Bookings").click()
    expect(page.locator("#booking-results tbody tr")).to_have_count(1)
    expect(page.locator("#booking-results")).to_contain_text("Ada Lovelace")
    screenshot("bookings_list")


def test_client_admin_sees_their_own_calls(cast, history, live_server, page, screenshot):
    sign_in(page, live_server.url, cast.client_admin.email)
    page.goto(f"{live_server.url}/c/{cast.client_account.public_id}/calls/")
    expect(page.locator("#call-results tbody tr")).to_have_count(2)
    expect(page.locator("#call-results")).not_to_contain_text("$")
    screenshot("client_calls")
    page.goto(f"{live_server.url}/c/{cast.client_account.public_id}/bookings/")
    expect(page.locator("#booking-results")).to_contain_text("Ada Lovelace")
    screenshot("client_bookings")
