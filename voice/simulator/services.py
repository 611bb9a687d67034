"""The sandbox's call simulator: a realistic Vapi phone call sent through the real server-URL endpoint.

Each message is shaped like Vapi's (`ServerMessage*` in Vapi's spec, built in voice.simulator.conversation),
HMAC-signed with the agency's webhook secret and POSTed over an in-process WSGI request, so it runs with no
server (seed_demo) and exercises the endpoint, the live tools and the inbox exactly as a real call does.
Same seed, same call: re-running converges.
"""

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.utils import timezone

from integrations.clock import clock_fixed_at
from integrations.ghl.sandbox.calendars import sandbox_appointments_rewind
from integrations.ghl.selectors import ghl_location_for_client
from integrations.sandbox.inprocess import in_process_app
from integrations.vapi.auth import request_signature
from integrations.vapi.sandbox import sandbox_call_record
from voice.assistants.vapi_org import vapi_endpoint_path
from voice.models import Assistant, Call, ToolCallRecord, VapiAccount
from voice.simulator.conversation import Conversation, Scenario, SimulationError

# A call simulated without a start has just ended: it began this long ago, so no timestamp lies ahead.
JUST_ENDED = timedelta(minutes=3)

SCENARIO_LABELS = {
    Scenario.BOOKED: "Books an appointment",
    Scenario.AVAILABILITY_ONLY: "Asks for openings, books nothing",
    Scenario.TRANSFERRED: "Asks for a person, is transferred",
    Scenario.FAILED: "Ends on a pipeline error",
    Scenario.HANG_UP: "Hangs up right away",
}


def simulation_check(*, assistant: Assistant) -> str:
    """The agency's webhook secret, or SimulationError saying what is missing before a call can be simulated."""
    if not settings.SANDBOX:
        raise SimulationError("The call simulator only runs in sandbox mode (SANDBOX=True).")
    account = VapiAccount.objects.filter(agency=assistant.client.agency).first()
    if account is None or not account.webhook_secret:
        raise SimulationError("The agency has no Vapi webhook secret yet: add the Vapi key in Settings → Vapi.")
    if ghl_location_for_client(client_id=assistant.client_id) is None:
        raise SimulationError(f"{assistant.client.name} is not connected to GoHighLevel yet.")
    if not assistant.calendars.exists():
        raise SimulationError(f"{assistant.name} books into no calendar yet: choose one on its Edit page.")
    return account.webhook_secret


class _Sender:
    """POSTs signed server messages to the agency's endpoint through Django itself, checking every answer."""

    def __init__(self, *, assistant: Assistant, secret: str):
        self.secret = secret
        self.path = vapi_endpoint_path(agency=assistant.client.agency)
        self.http = httpx.Client(transport=httpx.WSGITransport(app=in_process_app()), base_url=settings.PUBLIC_BASE_URL)

    def send(self, message: dict) -> dict:
        body = json.dumps({"message": message}).encode()
        stamp = str(int(time.time()))
        signature = request_signature(secret=self.secret, timestamp=stamp, body=body)
        response = self.http.post(
            self.path,
            content=body,
            headers={"Content-Type": "application/json", "X-Timestamp": stamp, "X-Signature": signature},
        )
        if response.status_code != 200:
            raise SimulationError(
                f"The endpoint answered HTTP {response.status_code} to {message['type']}: {response.text[:200]}"
            )
        return response.json()

    def close(self) -> None:
        self.http.close()


@dataclass(frozen=True)
class SimulatedCall:
    """What the simulated caller did; `call` is None while the inbox still processes it (a real Celery worker)."""

    vapi_call_id: str
    scenario: Scenario
    caller_number: str
    ended_reason: str
    duration_seconds: int
    booked_at: datetime | None
    call: Call | None


def call_simulate(
    *,
    assistant: Assistant,
    scenario: Scenario = Scenario.BOOKED,
    seed: str | None = None,
    started_at: datetime | None = None,
) -> SimulatedCall:
    """Runs one simulated call through the real endpoint.

    `seed` picks the caller, the times and the Vapi call id (a new one each time when None); `started_at`
    places the call in the past (default: it has just ended)."""
    secret = simulation_check(assistant=assistant)
    sender = _Sender(assistant=assistant, secret=secret)
    conversation = Conversation(
        assistant=assistant,
        scenario=Scenario(scenario),
        seed=seed if seed is not None else uuid.uuid4().hex,
        started_at=started_at or timezone.now() - JUST_ENDED,
        sender=sender,
    )
    try:
        conversation.run()
    finally:
        sender.close()
    report = conversation.report
    sandbox_call_record(
        call={
            **report["call"],
            "status": "ended",
            "endedReason": report["endedReason"],
            "endedAt": report["endedAt"],
            "cost": report["cost"],
            "costs": report["costs"],
            "artifact": report["artifact"],
            "analysis": report["analysis"],
        }
    )
    return SimulatedCall(
        vapi_call_id=conversation.call_id,
        scenario=conversation.scenario,
        caller_number=conversation.caller_number,
        ended_reason=report["endedReason"],
        duration_seconds=int(conversation.timeline.seconds),
        booked_at=conversation.booked_at,
        call=Call.objects.filter(agency=assistant.client.agency, vapi_call_id=conversation.call_id).first(),
    )


@dataclass(frozen=True)
class ReplayStep:
    """One recorded tool call: its name, its arguments as Vapi passed them, and when the caller asked."""

    name: str
    arguments: dict | str
    asked_at: datetime


@dataclass(frozen=True)
class ReplayedStep:
    """What the endpoint answered to a replayed tool call, and what the tool noted about it."""

    result: str
    error: str
    details: dict


def tool_calls_replay(*, assistant: Assistant, caller_number: str, steps: list[ReplayStep]) -> list[ReplayedStep]:
    """Sends recorded tool calls again, in order, as one new call of the same caller through the real endpoint,
    against the GHL sandbox rewound to the first step's moment, each step with the clock fixed at the moment it
    was first asked: the same steps give the same answers whenever they are replayed.

    Everything the call writes (the call, its records, bookings, sandbox appointments) lands like a real
    call's: the caller runs this inside a transaction it rolls back (voice.calltests)."""
    secret = simulation_check(assistant=assistant)
    if not steps:
        return []
    first = steps[0].asked_at
    location = ghl_location_for_client(client_id=assistant.client_id)
    sandbox_appointments_rewind(location_id=location.location_id, to=first)
    sender = _Sender(assistant=assistant, secret=secret)
    conversation = Conversation(
        assistant=assistant,
        scenario=Scenario.AVAILABILITY_ONLY,
        seed=uuid.uuid4().hex,
        started_at=first,
        sender=sender,
        caller_number=caller_number,
    )
    replayed = []
    try:
        for step in steps:
            conversation.timeline.seconds = max((step.asked_at - first).total_seconds(), 0.0)
            with clock_fixed_at(step.asked_at):
                answered = conversation.tool_answer(step.name, step.arguments)
            record = ToolCallRecord.objects.filter(
                call__agency_id=assistant.client.agency_id,
                call__vapi_call_id=conversation.call_id,
                tool_call_id=answered["toolCallId"],
            ).first()
            replayed.append(
                ReplayedStep(
                    result=answered.get("result") or "",
                    error=answered.get("error") or "",
                    details=record.details if record else {},
                )
            )
    finally:
        sender.close()
    return replayed


def scenario_choices() -> list[tuple[str, str]]:
    """The call simulator's scenarios for the assistant page, or none outside sandbox mode."""
    return [(scenario.value, label) for scenario, label in SCENARIO_LABELS.items()] if settings.SANDBOX else []
