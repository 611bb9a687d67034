"""The call simulator: a signed, Vapi-shaped conversation through the real endpoint, the GHL sandbox behind it."""

import io
import json
import random
import time
import wave
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from integrations.sandbox.models import SandboxObject
from integrations.vapi.specs import validation_errors
from tests.factories import AssistantFactory
from voice.assistants import vapi_org
from voice.models import Booking, BookingStatus, Call, ToolCallRecord, VapiAccount
from voice.simulator.conversation import Scenario, SimulationError, _caller
from voice.simulator.services import _Sender, call_simulate

pytestmark = pytest.mark.django_db

CHICAGO = ZoneInfo("America/Chicago")
SCHEMAS = {
    "status-update": "ServerMessageStatusUpdate",
    "conversation-update": "ServerMessageConversationUpdate",
    "tool-calls": "ServerMessageToolCalls",
    "end-of-call-report": "ServerMessageEndOfCallReport",
}


@pytest.fixture
def simulate(sim, django_capture_on_commit_callbacks):
    """Runs the simulator and lets the inbox process what it stored, as it does outside a test transaction."""

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            simulated = call_simulate(assistant=sim.assistant, **kwargs)
        return simulated, Call.objects.get(agency=sim.agency, vapi_call_id=simulated.vapi_call_id)

    return run


@pytest.fixture
def sent(monkeypatch):
    """Every server message the simulator sends, as sent."""
    messages = []
    original = _Sender.send

    def spy(self, message):
        messages.append(json.loads(json.dumps(message)))
        return original(self, message)

    monkeypatch.setattr(_Sender, "send", spy)
    return messages


def _appointment(booking: Booking) -> dict:
    return SandboxObject.objects.get(provider="ghl", kind="appointment", object_id=booking.ghl_appointment_id).data


def test_a_simulated_call_lands_with_transcript_summary_recording_and_one_booking_in_ghl(simulate):
    simulated, call = simulate(seed="first")
    assert call.status == "ended" and call.ended_reason == "assistant-said-end-call-phrase"
    assert call.caller_number == simulated.caller_number
    assert call.transcript.startswith("AI: Hello\nUser: Hi, this is ")
    assert "You're booked for" in call.transcript
    assert "was booked for" in call.summary and call.success_evaluation == "true"
    assert call.recording_url.endswith(f"/sandbox/vapi/recordings/{call.vapi_call_id}.wav")
    assert 30 <= call.duration_seconds <= 180 and call.cost > 0 and len(call.cost_breakdown) == 6
    assert [m["secondsFromStart"] for m in call.messages] == sorted(m["secondsFromStart"] for m in call.messages)
    (booking,) = call.bookings.all()
    assert booking.status == BookingStatus.BOOKED and booking.start > timezone.now()
    assert booking.start == simulated.booked_at
    appointment = _appointment(booking)
    assert appointment["contactId"] == booking.ghl_contact_id
    assert appointment["startTime"] == booking.start.astimezone(CHICAGO).isoformat()
    assert list(call.tool_calls.values_list("name", flat=True)) == ["check_availability", "book_appointment"]
    # The contact at GHL got the after-call note, as for a real call.
    assert SandboxObject.objects.filter(provider="ghl", kind="note", parent_id=booking.ghl_contact_id).exists()


@pytest.mark.parametrize("scenario", list(Scenario))
def test_every_message_sent_fits_vapis_spec_and_is_signed(simulate, sent, scenario):
    simulate(scenario=scenario, seed="spec")
    kinds = [m["type"] for m in sent]
    assert kinds[0] == "status-update" and kinds[-2:] == ["status-update", "end-of-call-report"]
    for message in sent:
        errors = validation_errors(schema_name=SCHEMAS[message["type"]], instance=message, strict=True)
        # The spec's conversation turns are a union with no discriminator: a tool_calls turn first fits
        # SystemMessage, which has no toolCalls. Types and required fields are still checked there.
        errors = [e for e in errors if not e.endswith("property toolCalls should not exist")]
        assert errors == [], message["type"]
    report = sent[-1]
    assert report["artifact"]["messages"] and report["startedAt"] < report["endedAt"]


def test_the_scenarios_end_the_way_vapi_reports_them(simulate):
    outcomes = {}
    for scenario in Scenario:
        _, call = simulate(scenario=scenario, seed=f"mix-{scenario}")
        outcomes[scenario] = (call.ended_reason, call.bookings.filter(status=BookingStatus.BOOKED).count())
    assert outcomes == {
        Scenario.BOOKED: ("assistant-said-end-call-phrase", 1),
        Scenario.AVAILABILITY_ONLY: ("customer-ended-call", 0),
        Scenario.TRANSFERRED: ("assistant-forwarded-call", 0),
        Scenario.FAILED: ("pipeline-error-openai-llm-failed", 0),
        Scenario.HANG_UP: ("customer-ended-call", 0),
    }
    hang_up = Call.objects.get(ended_reason="customer-ended-call", tool_calls__isnull=True)
    assert hang_up.summary == "" and hang_up.duration_seconds < 10
    browsed = Call.objects.get(ended_reason="customer-ended-call", tool_calls__isnull=False)
    assert browsed.tool_calls.get().name == "check_availability"


def test_callers_vary_but_the_same_seed_gives_the_same_caller(sim):
    callers = {_caller(random.Random(f"seed-{n}"), "America/Chicago") for n in range(12)}
    assert len(callers) > 6
    assert _caller(random.Random("x"), "Europe/London") == _caller(random.Random("x"), "Europe/London")
    assert _caller(random.Random("x"), "Europe/London")[1].startswith("+44207946")


def test_the_recording_url_serves_a_playable_wav(simulate, client):
    _, call = simulate(seed="audio")
    response = client.get(call.recording_url.removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as recording:
        assert recording.getnchannels() == 1 and recording.getframerate() == 8000
        assert recording.getnframes() / recording.getframerate() >= 3
    assert client.get("/sandbox/vapi/recordings/not-a-call.wav").status_code == 404


def test_a_past_call_is_dated_in_the_past_and_its_booking_to_the_call_day(simulate):
    started = timezone.now().replace(microsecond=0) - timedelta(days=10)
    _, call = simulate(seed="past", started_at=started)
    assert call.started_at == started and started < call.ended_at < started + timedelta(minutes=5)
    booking = call.bookings.get()
    assert booking.start > timezone.now(), "the appointment is still made through the live tools"
    assert booking.created_at.date() == started.date()
    assert all(started <= r.created_at < started + timedelta(minutes=5) for r in call.tool_calls.all())


def test_a_tool_call_stamped_in_the_future_is_dated_now(sim, client):
    ahead = int((time.time() + 86400) * 1000)
    message = {
        "type": "tool-calls",
        "timestamp": ahead,
        "call": {"id": "call-ahead", "assistantId": "asst-sim-1", "customer": {"number": "+13125550142"}},
        "toolCallList": [{"id": "t1", "type": "function", "function": {"name": "check_availability", "arguments": {}}}],
    }
    secret = VapiAccount.objects.get(agency=sim.agency).webhook_secret
    url = f"/api/webhooks/vapi/{sim.agency.public_id}/"
    response = client.post(
        url, data=json.dumps({"message": message}), content_type="application/json", HTTP_X_VAPI_SECRET=secret
    )
    assert response.status_code == 200
    assert ToolCallRecord.objects.get(tool_call_id="t1").created_at <= timezone.now()


def test_running_the_same_seed_again_converges(simulate):
    first, _ = simulate(seed="again", started_at=timezone.now() - timedelta(days=3))
    second, _ = simulate(seed="again", started_at=timezone.now() - timedelta(days=3))
    assert first.vapi_call_id == second.vapi_call_id
    assert Call.objects.count() == 1 and Booking.objects.count() == 1 and ToolCallRecord.objects.count() == 2
    assert SandboxObject.objects.filter(provider="ghl", kind="appointment").count() == 1
    assert SandboxObject.objects.filter(provider="vapi", kind="call", object_id=first.vapi_call_id).count() == 1


def test_the_simulator_says_what_is_missing(sim, settings):
    VapiAccount.objects.filter(agency=sim.agency).update(webhook_secret="")
    with pytest.raises(SimulationError, match="no Vapi webhook secret"):
        call_simulate(assistant=sim.assistant)
    vapi_org.vapi_account_ensure(agency=sim.agency)
    sim.assistant.calendars.all().delete()
    with pytest.raises(SimulationError, match="books into no calendar"):
        call_simulate(assistant=sim.assistant)
    other = AssistantFactory(client=sim.other_client)
    with pytest.raises(SimulationError, match="A Physio is not connected to GoHighLevel"):
        call_simulate(assistant=other)
    settings.SANDBOX = False
    with pytest.raises(SimulationError, match="sandbox mode"):
        call_simulate(assistant=sim.assistant)
    assert not Call.objects.exists()


def test_a_refused_message_or_a_failed_tool_stops_the_simulation_with_the_reason(sim, monkeypatch):
    from integrations.http import ProviderError

    with monkeypatch.context() as patch:
        patch.setattr("voice.simulator.services.simulation_check", lambda **_: "not-the-agency-secret")
        with pytest.raises(SimulationError, match="The endpoint answered HTTP 401 to status-update"):
            call_simulate(assistant=sim.assistant)

    def unreachable(**_):
        raise ProviderError("GHL is down", status_code=503)

    monkeypatch.setattr("voice.live.context.slots_for_days", unreachable)
    with pytest.raises(SimulationError, match="check_availability failed: I'm sorry, I can't reach the calendar"):
        call_simulate(assistant=sim.assistant)
    assert not Booking.objects.exists()


# --- The button ------------------------------------------------------------------------------------


def _simulate_url(cast):
    return f"/a/{cast.agency.slug}/assistants/{cast.assistant.public_id}/simulate-call/"


def test_staff_simulate_a_call_from_the_assistant_page(sim, as_user, django_capture_on_commit_callbacks):
    client = as_user(sim.staff)
    page = client.get(f"/a/{sim.agency.slug}/assistants/{sim.assistant.public_id}/")
    assert b"Simulate a call" in page.content and b"Asks for a person" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_simulate_url(sim), {"scenario": "booked"}, follow=True)
    call = Call.objects.get()
    assert response.redirect_chain[-1][0] == f"/a/{sim.agency.slug}/calls/{call.public_id}/"
    assert f"Simulated a call from {call.caller_number}" in response.content.decode()
    assert call.bookings.filter(status=BookingStatus.BOOKED).count() == 1


def test_the_button_explains_a_call_it_cannot_simulate(sim, as_user):
    VapiAccount.objects.filter(agency=sim.agency).update(webhook_secret="")
    client = as_user(sim.staff)
    response = client.post(_simulate_url(sim), {"scenario": "booked"}, follow=True)
    assert response.status_code == 200
    assert "The call could not be simulated: The agency has no Vapi webhook secret" in response.content.decode()
    wrong = client.post(_simulate_url(sim), {"scenario": "sing-a-song"}, follow=True)
    assert "Choose one of the listed scenarios." in wrong.content.decode()
    assert not Call.objects.exists()


def test_the_button_is_hidden_from_outsiders_and_gone_outside_the_sandbox(sim, as_user, settings):
    assert as_user(sim.outsider).post(_simulate_url(sim)).status_code == 404
    assert as_user(sim.client_admin).post(_simulate_url(sim)).status_code in (403, 404)
    settings.SANDBOX = False
    staff = as_user(sim.staff)
    assert staff.post(_simulate_url(sim)).status_code == 404
    assert b"Simulate a call" not in staff.get(f"/a/{sim.agency.slug}/assistants/{sim.assistant.public_id}/").content
    assert not Call.objects.exists()


# --- The command -----------------------------------------------------------------------------------


def test_the_command_simulates_a_call_and_prints_its_page(sim, capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("simulate_call", sim.client_account.name, "--scenario", "booked", "--seed", "cli")
    out = capsys.readouterr().out.strip()
    call = Call.objects.get()
    assert out.endswith(f"http://127.0.0.1:8000/a/{sim.agency.slug}/calls/{call.public_id}/")
    assert out.startswith(f"booked call from {call.caller_number}") and "booked " in out
    with django_capture_on_commit_callbacks(execute=True):
        call_command("simulate_call", str(sim.client_account.public_id), "--scenario", "hang-up")
    assert "hang-up call from" in capsys.readouterr().out and Call.objects.count() == 2


def test_the_command_names_what_is_wrong(sim):
    from tenants.services import client_create

    with pytest.raises(CommandError, match="No client “Nobody Dental”"):
        call_command("simulate_call", "Nobody Dental")
    with pytest.raises(CommandError, match="A Physio has no assistant yet"):
        call_command("simulate_call", "A Physio")
    # Connecting took the GHL location's name.
    name = sim.client_account.name
    client_create(agency=sim.agency_b, name=name, time_zone="America/Denver")
    with pytest.raises(CommandError, match="pass --agency with one of agency-a, agency-b"):
        call_command("simulate_call", name)
    with pytest.raises(CommandError, match=f"{name} has no assistant yet"):
        call_command("simulate_call", name, "--agency", "agency-b")
    AssistantFactory(client=sim.other_client)
    with pytest.raises(CommandError, match="not connected to GoHighLevel"):
        call_command("simulate_call", "A Physio")
