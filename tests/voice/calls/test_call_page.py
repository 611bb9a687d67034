"""The call page as staff and a client admin read it: conversation, recording, analysis, costs, tools, booking."""

import json
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from integrations.ghl.demo import sandbox_connect
from integrations.ghl.sandbox import sandbox_seed
from integrations.vapi.specs import specs_path
from tenants.models import ClientMembership, ClientRole
from tests.call_report import RECORDING, STEREO, full_report
from tests.factories import UserFactory
from tests.vapi import next_weekday, tool_calls, tool_results, vapi_post
from voice.calls.ended_reasons import ended_reason_text
from voice.models import Booking, BookingStatus, Call, ToolCallRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(live, client, django_capture_on_commit_callbacks):
    """A call that booked a cleaning through the live endpoint, then sent its full end-of-call report."""
    tuesday = next_weekday()
    book = {"start_time": f"{tuesday.isoformat()}T11:00", "name": "Ada Lovelace", "service": "cleaning"}
    tool_results(vapi_post(client, live.url, tool_calls(("b1", "book_appointment", book), call_id="call-page")))
    with django_capture_on_commit_callbacks(execute=True):
        started = timezone.now() - timedelta(minutes=30)
        vapi_post(client, live.url, full_report("call-page", started=started))
    live.call = Call.objects.get(vapi_call_id="call-page")
    live.booking = Booking.objects.get(call=live.call)
    live.agency_url = f"/a/{live.agency.slug}/calls/{live.call.public_id}/"
    live.client_url = f"/c/{live.client_account.public_id}/calls/{live.call.public_id}/"
    return live


def _in_order(html, *texts):
    positions = [html.index(text) for text in texts]
    assert positions == sorted(positions), f"out of order: {texts}"


def test_the_agency_page_reads_the_whole_report(reported, as_user):
    html = as_user(reported.owner).get(reported.agency_url).content.decode()
    # The conversation, in order, with speakers and times from the start; the agency's prompt never shows.
    _in_order(
        html,
        "Thanks for calling A Dental, how can I help?",
        "I&#x27;d like a cleaning next Tuesday at eleven.",
        "Booked an appointment",
        "You&#x27;re booked for Tuesday at 11. Goodbye!",
    )
    assert "Assistant</span> · 0:00" in html and "Caller</span> · 0:04" in html and "· 1:05" in html
    assert "Internal pricing rule" not in html
    assert f'<audio controls preload="metadata" src="{RECORDING}"' in html and STEREO in html
    assert "Ada booked a cleaning for Tuesday at 11." in html
    for label, value in [
        ("Caller name", "Ada Lovelace"),
        ("Appointment › Service", "cleaning"),
        ("Appointment › New patient", "Yes"),
        ("Topics", "price, parking"),
    ]:
        assert f"{label}</th><td>{value}</td>" in html
    assert ">Successful</span>" in html
    assert "The assistant said goodbye (one of its end-call phrases) and hung up." in html
    # Costs with their breakdown, and Vapi's total.
    for text in [
        "Speech recognition",
        "deepgram nova-3 · 1.6 min",
        "5,120 prompt + 310 completion tokens",
        "812 characters",
        "Vapi platform",
        "$0.0452",
        "$0.1234",
    ]:
        assert text in html
    # The tool call: what was asked (arguments in words), what we answered, how long it took.
    record = ToolCallRecord.objects.get(call=reported.call)
    assert "Start time" in html and "Ada Lovelace" in html
    assert f"at 0:09 · {record.duration_ms} ms" in html
    assert f"“{escape(record.result)}”" in html
    # The booking in the client's time zone, and the caller's GHL contact.
    start = reported.booking.start.astimezone(ZoneInfo("America/Chicago"))
    assert reported.booking.status == BookingStatus.BOOKED and ">Booked</span>" in html
    assert f"{start:%a, %b} {start.day}, {start.year} {start:%-I:%M} {start:%p}" in html
    # Sandbox mode: the contact lives in the local stand-in, so the page says so instead of linking to GHL.
    assert reported.booking.ghl_contact_id and "gohighlevel.com" not in html
    assert 'data-testid="sandbox-contact-note"' in html
    assert f"/a/{reported.agency.slug}/assistants/{reported.assistant.public_id}/" in html


def test_the_contact_link_opens_the_agencys_own_ghl_domain(reported, as_user, settings):
    settings.SANDBOX = False
    contact_path = f"/v2/location/sbxLocChicago0000001/contacts/detail/{reported.booking.ghl_contact_id}"
    html = as_user(reported.owner).get(reported.agency_url).content.decode()
    assert f"https://app.gohighlevel.com{contact_path}" in html  # the public app by default
    owner = as_user(reported.owner)
    settings_url = f"/a/{reported.agency.slug}/settings/"
    saved = owner.post(settings_url, {"name": "Agency A", "ghl_app_domain": "App.MyAgency.test"})
    assert saved.status_code == 302
    html = owner.get(reported.agency_url).content.decode()
    assert f"https://app.myagency.test{contact_path}" in html and "app.gohighlevel.com" not in html
    refused = owner.post(settings_url, {"name": "Agency A", "ghl_app_domain": "https://x/y"})
    assert refused.status_code == 200 and "Enter a domain name" in refused.content.decode()


def test_the_client_admin_sees_the_call_without_costs_or_the_agency(reported, as_user):
    response = as_user(reported.client_admin).get(reported.client_url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Thanks for calling A Dental, how can I help?" in html and RECORDING in html
    assert "Ada booked a cleaning for Tuesday at 11." in html and "Booked an appointment" in html
    assert "Internal pricing rule" not in html
    assert "$0.1234" not in html and "Language model" not in html and ">Cost<" not in html
    assert f"/a/{reported.agency.slug}/" not in html and "assistant-said-end-call-phrase" not in html


def test_a_call_without_messages_falls_back_to_the_transcript(cast, as_user):
    call = Call.objects.create(
        agency=cast.agency,
        client=cast.client_account,
        vapi_call_id="call-plain",
        status="ended",
        transcript="AI: Hello, A Dental.\nUser: Do you open on Saturday?\nAI: We are closed on weekends.",
    )
    html = as_user(cast.owner).get(f"/a/{cast.agency.slug}/calls/{call.public_id}/").content.decode()
    _in_order(html, "Hello, A Dental.", "Do you open on Saturday?", "We are closed on weekends.")
    assert html.count('<span class="fw-semibold">Assistant</span>') == 2
    assert html.count('<span class="fw-semibold">Caller</span>') == 1
    assert "No recording for this call" in html and "<audio" not in html
    assert "No appointment was booked on this call." in html


def test_the_call_page_is_hidden_from_everyone_else(cast, as_user):
    call = Call.objects.create(agency=cast.agency, client=cast.client_account, vapi_call_id="call-private")
    neighbours = Call.objects.create(agency=cast.agency, client=cast.other_client, vapi_call_id="call-neighbour")
    agency_url = f"/a/{cast.agency.slug}/calls/{call.public_id}/"
    client_url = f"/c/{cast.client_account.public_id}/calls/{call.public_id}/"
    outsider = as_user(cast.outsider)
    assert outsider.get(agency_url).status_code == 404
    assert outsider.get(client_url).status_code == 404
    # Agency B's owner asking through their own agency's address does not find A's call either.
    assert outsider.get(f"/a/{cast.agency_b.slug}/calls/{call.public_id}/").status_code == 404
    neighbour_admin = UserFactory(email="admin@physio.test")
    ClientMembership.objects.create(client=cast.other_client, user=neighbour_admin, role=ClientRole.CLIENT_ADMIN)
    neighbour = as_user(neighbour_admin)
    assert neighbour.get(client_url).status_code == 404
    assert neighbour.get(f"/c/{cast.other_client.public_id}/calls/{call.public_id}/").status_code == 404
    # The client admin reaches their own calls only, never a neighbour's through their own address.
    admin = as_user(cast.client_admin)
    assert admin.get(client_url).status_code == 200
    assert admin.get(f"/c/{cast.client_account.public_id}/calls/{neighbours.public_id}/").status_code == 404
    assert admin.get(agency_url).status_code == 404


def _add_tool_calls_and_bookings(call, count):
    start = timezone.now() + timedelta(days=2)
    for i in range(count):
        ToolCallRecord.objects.create(
            call=call,
            tool_call_id=f"t{i}",
            name="book_appointment",
            arguments={"name": "Ada", "when": str(i)},
            result="Booked.",
            duration_ms=120,
        )
        Booking.objects.create(
            client=call.client,
            call=call,
            tool_call_id=f"t{i}",
            calendar_id="cal",
            calendar_name="Cleaning",
            ghl_contact_id=f"contact-{i}",
            start=start + timedelta(hours=i),
            status=BookingStatus.BOOKED,
        )


@pytest.mark.parametrize("portal", ["agency", "client"])
def test_the_call_page_runs_a_fixed_number_of_queries(cast, as_user, django_assert_num_queries, portal, settings):
    sandbox_seed()
    sandbox_connect(client=cast.client_account, location_id="sbxLocChicago0000001")
    few = Call.objects.create(agency=cast.agency, client=cast.client_account, vapi_call_id="call-few")
    many = Call.objects.create(agency=cast.agency, client=cast.client_account, vapi_call_id="call-many")
    _add_tool_calls_and_bookings(few, 1)
    _add_tool_calls_and_bookings(many, 10)
    if portal == "agency":
        client, base = as_user(cast.owner), f"/a/{cast.agency.slug}/calls/"
    else:
        client, base = as_user(cast.client_admin), f"/c/{cast.client_account.public_id}/calls/"
    settings.SANDBOX = False  # links to the contacts in GHL, as with a real sub-account
    client.get(f"{base}{few.public_id}/")  # the first visit writes the session; measure steady visits
    with CaptureQueriesContext(connection) as one:
        assert client.get(f"{base}{few.public_id}/").status_code == 200
    with django_assert_num_queries(len(one.captured_queries)):
        html = client.get(f"{base}{many.public_id}/").content.decode()
    assert all(f'contacts/detail/contact-{i}"' in html for i in range(10))


def test_every_ended_reason_in_vapis_spec_reads_as_a_sentence():
    spec = json.loads(specs_path().read_text())
    reasons = spec["components"]["schemas"]["ServerMessageEndOfCallReport"]["properties"]["endedReason"]["enum"]
    assert len(reasons) > 600
    unreadable = {}
    for reason in reasons:
        text = ended_reason_text(reason)
        if (
            text == reason
            or re.search(r"[a-z0-9]+[.-][a-z0-9]+[.-]", text)
            or not text[:1].isupper()
            or not text.endswith(".")
            or re.search(r"vapifault|providerfault|pipeline-error|call\.[a-z]|-error", text)
        ):
            unreadable[reason] = text
    assert not unreadable


def test_ended_reasons_are_said_in_plain_words():
    assert ended_reason_text("customer-ended-call") == "The caller hung up."
    assert ended_reason_text("silence-timed-out") == "The line stayed silent for too long, so the call was ended."
    assert ended_reason_text("pipeline-error-openai-429-exceeded-quota") == (
        "During the call, OpenAI's language model ran out of quota or hit its rate limit."
    )
    assert ended_reason_text("call.in-progress.error-providerfault-eleven-labs-500-server-error") == (
        "During the call, ElevenLabs' voice had a server error. Vapi counts this as the provider's fault."
    )
    # A value newer than the spec still reads as words.
    assert ended_reason_text("call.in-progress.error-vapifault-newvendor-voice-melted") == (
        "The call broke off: newvendor voice melted. Vapi counts this as a fault on its side."
    )


def test_odd_shapes_from_vapi_never_break_the_page(cast, as_user):
    call = Call.objects.create(
        agency=cast.agency,
        client=None,
        vapi_call_id="call-odd",
        messages={"role": "bot"},
        structured_data=["not", "an", "object"],
        cost_breakdown="n/a",
        success_evaluation="Needs work",
        ended_reason="call.in-progress.error-vapifault-brand-new-thing",
    )
    ToolCallRecord.objects.create(call=call, tool_call_id="t1", name="lookUpOrder", arguments="{oops", error="Boom")
    response = as_user(cast.owner).get(f"/a/{cast.agency.slug}/calls/{call.public_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No client" in html and "Value</th><td>not, an, object</td>" in html and ">Needs work</span>" in html
    assert "The call broke off: brand new thing." in html
    assert "Look up order" in html and "Failed:</span> Boom" in html
    assert "Vapi reports the cost with the end-of-call report." in html


def test_only_web_addresses_reach_the_audio_player(cast, as_user):
    call = Call.objects.create(
        agency=cast.agency,
        client=cast.client_account,
        vapi_call_id="call-js",
        status="ended",
        recording_url="javascript:alert(1)",
        stereo_recording_url="javascript:alert(2)",
    )
    html = as_user(cast.owner).get(f"/a/{cast.agency.slug}/calls/{call.public_id}/").content.decode()
    assert "javascript:" not in html and "<audio" not in html and "No recording for this call" in html
