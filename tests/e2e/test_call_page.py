"""The call page in a real browser, for the agency's owner and for the client's admin."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.call_report import full_report
from tests.e2e.browser import sign_in
from voice.calls.ingest import _end_of_call_fields
from voice.models import Booking, BookingStatus, Call, CallOutcome, ToolCallRecord

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def call(cast):
    started = timezone.now() - timedelta(hours=2)
    fields = _end_of_call_fields(full_report("call-e2e", started=started))
    call = Call.objects.create(
        agency=cast.agency,
        client=cast.client_account,
        vapi_call_id="call-e2e",
        caller_number="+13125550142",
        outcome=CallOutcome.BOOKED,
        **fields,
    )
    ToolCallRecord.objects.create(
        call=call,
        tool_call_id="b1",
        name="book_appointment",
        arguments={"start_time": "2026-12-01T11:00", "name": "Ada Lovelace", "service": "cleaning"},
        result="You're booked for cleaning on Tuesday, December 1 at 11 AM.",
        duration_ms=412,
        created_at=started + timedelta(seconds=10),
    )
    Booking.objects.create(
        client=cast.client_account,
        call=call,
        tool_call_id="b1",
        calendar_id="cal-clean",
        calendar_name="Cleaning",
        caller_name="Ada Lovelace",
        start=started + timedelta(days=7),
        status=BookingStatus.BOOKED,
    )
    return call


def test_staff_and_the_client_read_the_call(cast, call, live_server, page, screenshot):
    sign_in(page, live_server.url, cast.owner.email)
    expect(page).to_have_url(re.compile(f"/a/{cast.agency.slug}/$"))
    page.goto(f"{live_server.url}/a/{cast.agency.slug}/calls/{call.public_id}/")
    expect(page.get_by_role("heading", name=re.compile("Call with"))).to_be_visible()
    expect(page.get_by_text("I'd like a cleaning next Tuesday at eleven.")).to_be_visible()
    expect(page.locator("audio")).to_have_attribute("src", call.recording_url)
    expect(page.get_by_role("heading", name="Cost")).to_be_visible()
    screenshot("call_detail")

    live = Call.objects.create(
        agency=cast.agency, client=cast.client_account, vapi_call_id="call-live", status="in-progress"
    )
    page.goto(f"{live_server.url}/a/{cast.agency.slug}/calls/{live.public_id}/")
    expect(page.get_by_text("No transcript yet")).to_be_visible()
    expect(page.get_by_text("In progress", exact=True)).to_be_visible()
    screenshot("call_detail_in_progress")

    page.context.clear_cookies()
    sign_in(page, live_server.url, cast.client_admin.email)
    page.goto(f"{live_server.url}/c/{cast.client_account.public_id}/calls/{call.public_id}/")
    expect(page.get_by_text("Ada booked a cleaning for Tuesday at 11.")).to_be_visible()
    expect(page.get_by_role("heading", name="Cost")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Assistants")).to_have_count(0)
    screenshot("client_call_detail")
