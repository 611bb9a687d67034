"""Booking proof: after a call, what the caller was told is held against what the tools confirmed and what GHL
(the sandbox) shows; a mismatch is flagged on the call, in the attention list and as one alert per client."""

import json
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from integrations.sandbox.models import SandboxObject
from tests.integrations.ghl.signing import ED25519_KEY, ed25519_sign, public_pem
from tests.vapi import CHICAGO, next_weekday, tool_calls, tool_results, vapi_post
from voice.calls.tasks import call_followups_task
from voice.models import Call, CallProof, CheckName, Incident, MismatchKind, ProofStatus
from voice.proof.selectors import proof_rates
from voice.proof.tasks import call_proof_task, proof_recheck_task

pytestmark = pytest.mark.django_db


def spoken_day(day) -> str:
    return f"{day:%A}, {day:%B} {day.day}"


def book(client, live, *, hour: int, call_id: str, tool_call_id: str = "b1", day=None) -> dict:
    day = day or next_weekday()
    args = {"start_time": f"{day.isoformat()}T{hour:02d}:00", "name": "Ada Lovelace", "service": "cleaning"}
    (answer,) = tool_results(
        vapi_post(client, live.url, tool_calls((tool_call_id, "book_appointment", args), call_id=call_id))
    )
    return answer


def end_call(client, live, capture, *, call_id: str, said: list[str]) -> CallProof:
    """Vapi's end-of-call report with the assistant's lines; the proof runs once it is processed."""
    report = {
        "type": "end-of-call-report",
        "call": {"id": call_id, "assistantId": "asst-live-1"},
        "endedReason": "customer-ended-call",
        "artifact": {
            "messages": [
                {"role": "bot", "message": line, "secondsFromStart": 5.0 * n} for n, line in enumerate(said, start=1)
            ]
        },
    }
    with capture(execute=True):
        assert vapi_post(client, live.url, report).status_code == 200
    return CallProof.objects.get(call__vapi_call_id=call_id)


def sandbox_appointment():
    return SandboxObject.objects.get(provider="ghl", kind="appointment")


def kinds(proof: CallProof) -> list[str]:
    return [m["kind"] for m in proof.mismatches]


def test_a_clean_call_is_verified_in_the_calendar(live, client, django_capture_on_commit_callbacks):
    tuesday = next_weekday()
    answer = book(client, live, hour=10, call_id="call-1")

    proof = end_call(
        client, live, django_capture_on_commit_callbacks, call_id="call-1", said=[answer["result"], "Goodbye!"]
    )

    assert proof.status == ProofStatus.HOLDS and proof.mismatches == []
    (claim,) = proof.claims
    assert claim["action"] == "booked" and claim["verified_at"]
    assert datetime.fromisoformat(claim["start"]) == datetime(
        tuesday.year, tuesday.month, tuesday.day, 10, tzinfo=CHICAGO
    )
    assert not Incident.objects.exists() and mail.outbox == []


def test_claimed_but_not_made_raises_one_alert_per_client(live, client, django_capture_on_commit_callbacks):
    tuesday = next_weekday()

    first = end_call(
        client,
        live,
        django_capture_on_commit_callbacks,
        call_id="call-1",
        said=["Let me check.", f"Perfect, you're booked for {spoken_day(tuesday)} at 3 PM. See you then!"],
    )

    assert first.status == ProofStatus.MISMATCH
    assert kinds(first) == [MismatchKind.CLAIMED_NOT_MADE]
    assert "3 PM" in first.mismatches[0]["said"]
    incident = Incident.objects.get()
    assert (incident.client, incident.check_name) == (live.client_account, CheckName.BOOKING_PROOF)
    assert "1 call(s)" in incident.detail and incident.fix_url.endswith(f"/calls/{first.call.public_id}/")
    assert len(mail.outbox) == 1 and "Booking proof" in mail.outbox[0].subject

    second = end_call(
        client,
        live,
        django_capture_on_commit_callbacks,
        call_id="call-2",
        said=["Your appointment has been cancelled."],
    )

    assert kinds(second) == [MismatchKind.CLAIMED_NOT_MADE]
    # Still one incident and one email: the second mismatch only updates what the incident says.
    incident = Incident.objects.get()
    assert "2 call(s)" in incident.detail and len(mail.outbox) == 1


def test_made_at_another_time_than_spoken(live, client, django_capture_on_commit_callbacks):
    tuesday = next_weekday()
    book(client, live, hour=10, call_id="call-1")

    proof = end_call(
        client,
        live,
        django_capture_on_commit_callbacks,
        call_id="call-1",
        said=[f"Great news: you're all booked for {spoken_day(tuesday)} at 11 AM."],
    )

    assert proof.status == ProofStatus.MISMATCH and kinds(proof) == [MismatchKind.TIME_DIFFERS]
    assert "at 10 AM" in proof.mismatches[0]["detail"] and proof.mismatches[0]["tool_call_id"] == "b1"


def test_a_confirmed_booking_missing_in_ghl(live, client, django_capture_on_commit_callbacks):
    answer = book(client, live, hour=10, call_id="call-1")
    sandbox_appointment().delete()

    proof = end_call(client, live, django_capture_on_commit_callbacks, call_id="call-1", said=[answer["result"]])

    assert proof.status == ProofStatus.MISMATCH and kinds(proof) == [MismatchKind.MISSING_IN_GHL]
    assert "not in GHL" in proof.mismatches[0]["detail"]


def test_a_confirmed_booking_at_another_time_in_ghl(live, client, django_capture_on_commit_callbacks):
    answer = book(client, live, hour=10, call_id="call-1")
    appointment = sandbox_appointment()
    moved = datetime.fromisoformat(appointment.data["startTime"]) + timedelta(hours=2)
    appointment.data = {**appointment.data, "startTime": moved.isoformat()}
    appointment.save()

    proof = end_call(client, live, django_capture_on_commit_callbacks, call_id="call-1", said=[answer["result"]])

    assert kinds(proof) == [MismatchKind.TIME_DIFFERS]
    assert "at 12 PM in GHL" in proof.mismatches[0]["detail"]


def _ghl_webhook(client, capture, settings, payload):
    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = public_pem(ED25519_KEY)
    body = json.dumps(payload, separators=(",", ":")).encode()
    with capture(execute=True):
        response = client.post(
            "/api/webhooks/ghl/",
            data=body,
            content_type="application/json",
            headers={"x-ghl-signature": ed25519_sign(body)},
        )
    assert response.status_code == 200


def test_a_booking_moved_in_ghl_after_the_call_is_noticed(live, client, django_capture_on_commit_callbacks, settings):
    answer = book(client, live, hour=10, call_id="call-1")
    assert (
        end_call(client, live, django_capture_on_commit_callbacks, call_id="call-1", said=[answer["result"]]).status
        == ProofStatus.HOLDS
    )
    appointment = sandbox_appointment()
    moved = datetime.fromisoformat(appointment.data["startTime"]) + timedelta(hours=3)
    appointment.data = {**appointment.data, "startTime": moved.isoformat()}
    appointment.save()

    _ghl_webhook(
        client,
        django_capture_on_commit_callbacks,
        settings,
        {
            "type": "AppointmentUpdate",
            "locationId": "sbxLocChicago0000001",
            "webhookId": "w-moved",
            "appointment": {**appointment.data, "id": appointment.object_id},
        },
    )

    proof = CallProof.objects.get()
    assert proof.status == ProofStatus.CHANGED and kinds(proof) == [MismatchKind.CHANGED_LATER]
    assert "1 PM in GHL" in proof.mismatches[0]["detail"] and "after the call" in proof.mismatches[0]["detail"]
    # Someone else's change is noticed, not alerted: the assistant kept its word.
    assert not Incident.objects.exists()


def test_a_booking_deleted_in_ghl_later_is_found_by_the_periodic_recheck(
    live, client, django_capture_on_commit_callbacks
):
    answer = book(client, live, hour=10, call_id="call-1")
    end_call(client, live, django_capture_on_commit_callbacks, call_id="call-1", said=[answer["result"]])
    sandbox_appointment().delete()

    assert proof_recheck_task.delay().get() == 1

    proof = CallProof.objects.get()
    assert proof.status == ProofStatus.CHANGED and "not in GHL" in proof.mismatches[0]["detail"]
    assert proof_recheck_task.delay().get() == 0  # changed calls are not looked up again and again


def test_a_call_whose_check_was_lost_with_the_broker_is_checked_by_the_periodic_recheck(
    live, client, django_capture_on_commit_callbacks
):
    answer = book(client, live, hour=10, call_id="call-1")
    down = BrokerUnavailable("broker down")
    with (
        mock.patch.object(call_followups_task, "delay", side_effect=down),
        mock.patch.object(call_proof_task, "delay", side_effect=down),
        pytest.raises(CallProof.DoesNotExist),
    ):
        end_call(client, live, django_capture_on_commit_callbacks, call_id="call-1", said=[answer["result"]])
    call = Call.objects.get(vapi_call_id="call-1")
    assert call.status == "ended"

    assert proof_recheck_task.delay().get() == 0  # its own check may still be on its way
    Call.objects.filter(pk=call.pk).update(updated_at=timezone.now() - timedelta(minutes=11))
    assert proof_recheck_task.delay().get() == 1

    proof = CallProof.objects.get(call=call)
    assert proof.status == ProofStatus.HOLDS and proof.claims[0]["verified_at"]


def test_the_look_for_lost_checks_has_an_index_on_when_calls_were_created():
    # At 1M calls it read every page of voice_call each hour (970 ms); voice/migrations/0021 gives it a BRIN index
    # (43 ms there; a table this test can fill is too small for the planner to prefer it).
    if connection.vendor != "postgresql":
        pytest.skip("the index is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'call_created_brin'")
        (definition,) = cursor.fetchone()
    assert "voice_call USING brin (created_at)" in definition


def test_a_move_made_by_a_later_call_keeps_both_calls_true(live, client, django_capture_on_commit_callbacks):
    tuesday = next_weekday()
    answer = book(client, live, hour=10, call_id="call-1")
    end_call(client, live, django_capture_on_commit_callbacks, call_id="call-1", said=[answer["result"]])
    (moved,) = tool_results(
        vapi_post(
            client,
            live.url,
            tool_calls(
                ("r1", "reschedule_appointment", {"new_start_time": f"{tuesday.isoformat()}T14:00"}), call_id="call-2"
            ),
        )
    )
    assert moved["result"].startswith("Done: your appointment moved")

    second = end_call(client, live, django_capture_on_commit_callbacks, call_id="call-2", said=[moved["result"]])
    proof_recheck_task.delay()

    assert second.status == ProofStatus.HOLDS
    first = CallProof.objects.get(call__vapi_call_id="call-1")
    assert first.status == ProofStatus.HOLDS and first.claims[0]["superseded"] is True


def test_proof_rate_per_client_and_assistant(live, client, django_capture_on_commit_callbacks):
    answer = book(client, live, hour=10, call_id="call-1")
    end_call(client, live, django_capture_on_commit_callbacks, call_id="call-1", said=[answer["result"]])
    end_call(client, live, django_capture_on_commit_callbacks, call_id="call-2", said=["You're booked, see you!"])
    end_call(client, live, django_capture_on_commit_callbacks, call_id="call-3", said=["Thanks for calling."])

    rates = proof_rates(agency=live.agency)

    # Three calls: two made claims, one of which held; the call without claims is not counted.
    assert (rates.overall.held, rates.overall.checked, rates.overall.rate) == (1, 2, 50.0)
    assert [(rate.name, rate.rate) for rate in rates.clients] == [(live.client_account.name, 50.0)]
    every = {rate.name: rate.rate for rate in proof_rates(agency=live.agency, every=True).clients}
    assert every == {live.client_account.name: 50.0, live.other_client.name: None}
    (assistant,) = rates.checked_assistants
    assert (assistant.public_id, assistant.held, assistant.checked) == (live.assistant.public_id, 1, 2)
    assert CallProof.objects.get(call__vapi_call_id="call-3").status == ProofStatus.NO_CLAIMS
    assert proof_rates(agency=live.agency_b).overall.checked == 0
