"""One simulated phone call as Vapi would record it: the scripted conversation of a scenario, its timeline of
turns, and every server message (status updates, tool calls, the end-of-call report) in Vapi's shape.

voice.simulator.services sends these messages, signed, to the real endpoint; this module only builds them.
"""

import hashlib
import json
import random
import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from integrations.vapi.sandbox import SANDBOX_ORG_ID
from voice.assistants.payload import assistant_prompt_render
from voice.live.speech import requested_datetime, spoken_moment, spoken_time
from voice.models import Assistant
from voice.simulator.timeline import Timeline, iso_moment

# Fictional numbers: 555-01xx in North America (NANPA), 020 7946 0xxx in London (Ofcom's drama range).
CALLER_NAMES = (
    "Maria Gonzalez",
    "James Carter",
    "Priya Patel",
    "Tom Becker",
    "Aisha Khan",
    "Daniel Kim",
    "Sophie Martin",
    "Oliver Hughes",
    "Grace Okafor",
    "Lucas Silva",
    "Emma Novak",
    "Noah Fischer",
    "Chloe Dubois",
    "Ethan Murphy",
    "Hannah Schultz",
    "Mateo Rossi",
)
US_AREA_CODES = ("312", "773", "872", "630", "847")
SPOKEN_TIME = r"(\d{1,2})(?::(\d{2}))? (AM|PM)"


class Scenario(StrEnum):
    BOOKED = "booked"
    AVAILABILITY_ONLY = "availability-only"
    TRANSFERRED = "transferred"
    FAILED = "failed"
    HANG_UP = "hang-up"


ENDED_REASONS = {
    Scenario.BOOKED: "assistant-said-end-call-phrase",
    Scenario.AVAILABILITY_ONLY: "customer-ended-call",
    Scenario.TRANSFERRED: "assistant-forwarded-call",
    Scenario.FAILED: "pipeline-error-openai-llm-failed",
    Scenario.HANG_UP: "customer-ended-call",
}


class SimulationError(Exception):
    """Why the simulated call could not run or went wrong, in words for staff."""


def simulated_call_id(*, assistant: Assistant, seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"agencyhub-simulator:{assistant.public_id}:{seed}"))


def _caller(rng: random.Random, tz_name: str) -> tuple[str, str]:
    name = rng.choice(CALLER_NAMES)
    if tz_name == "Europe/London":
        return name, f"+44207946{rng.randint(0, 999):04d}"
    return name, f"+1{rng.choice(US_AREA_CODES)}55501{rng.randint(0, 99):02d}"


def offered_slots(answer: str, *, tz: ZoneInfo, today) -> list[datetime]:
    """The moments a check_availability answer offered ("Tuesday, November 24 at 9 AM, 11:30 AM or 2 PM; ...")."""
    moments = []
    for part in answer.split(";"):
        day = re.search(r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\w+) (\d{1,2}) at (.*)", part)
        if not day:
            continue
        month_day = datetime.strptime(f"{day[2]} {day[3]} {today.year}", "%B %d %Y").date()
        if month_day < today:
            month_day = month_day.replace(year=today.year + 1)
        for hour, minute, half in re.findall(SPOKEN_TIME, day[4]):
            hour24 = int(hour) % 12 + (12 if half == "PM" else 0)
            wall = f"{month_day.isoformat()}T{hour24:02d}:{minute or '00'}:00"
            moments.append(requested_datetime(wall, tz))
    return moments


class Conversation:
    """One simulated call: builds each Vapi message in order and sends it as it happens."""

    def __init__(
        self,
        *,
        assistant: Assistant,
        scenario: Scenario,
        seed: str,
        started_at: datetime,
        sender,
        caller_number: str = "",
    ):
        """`caller_number` replaces the seeded caller's: a replayed call is placed by the original caller."""
        self.assistant, self.scenario, self.sender = assistant, scenario, sender
        self.rng = random.Random(f"{assistant.public_id}:{seed}")  # noqa: S311 (demo data, not security)
        self.tz = ZoneInfo(assistant.time_zone or assistant.client.time_zone)
        self.caller_name, self.caller_number = _caller(self.rng, self.tz.key)
        self.caller_number = caller_number or self.caller_number
        self.call_id = simulated_call_id(assistant=assistant, seed=seed)
        self.timeline = Timeline(started=started_at)
        self.calendar = self.rng.choice(list(assistant.calendars.all()))
        self.phone_number = assistant.phone_numbers.first()
        self.tool_number = 0
        self.booked_at: datetime | None = None
        self.offered: list[datetime] = []
        self.report: dict = {}

    # --- message envelopes -----------------------------------------------------------------------

    def _call(self, status: str) -> dict:
        started = iso_moment(self.timeline.started)
        call = {
            "id": self.call_id,
            "orgId": SANDBOX_ORG_ID,
            "createdAt": started,
            "updatedAt": iso_moment(self.timeline.at()),
            "type": "inboundPhoneCall",
            "status": status,
            "phoneCallProvider": "vapi",
            "phoneCallTransport": "pstn",
            "startedAt": started,
            "customer": {"number": self.caller_number},
        }
        if self.assistant.vapi_id:
            call["assistantId"] = self.assistant.vapi_id
        if self.phone_number is not None:
            call["phoneNumberId"] = self.phone_number.vapi_id
        return call

    def _message(self, kind: str, call_status: str = "in-progress", **fields) -> dict:
        agency = self.assistant.client.agency
        metadata = {
            "agencyId": str(agency.public_id),
            "clientId": str(self.assistant.client.public_id),
            "assistantId": str(self.assistant.public_id),
        }
        return {
            "type": kind,
            "timestamp": int(self.timeline.at().timestamp() * 1000),
            "call": self._call(call_status),
            "assistant": {"name": self.assistant.name, "metadata": metadata},
            "customer": {"number": self.caller_number},
            **fields,
        }

    def status(self, status: str, **fields) -> None:
        self.sender.send(self._message("status-update", status, status=status, **fields))

    def conversation_update(self) -> None:
        self.sender.send(
            self._message(
                "conversation-update",
                messages=list(self.timeline.messages),
                messagesOpenAIFormatted=list(self.timeline.openai),
            )
        )

    def tool_answer(self, name: str, arguments) -> dict:
        """Sends one tool call (arguments as Vapi passed them: an object or a JSON string); the endpoint's
        result entry, `{"toolCallId", "name", "result" | "error"}`."""
        self.tool_number += 1
        tool_call = {
            "id": f"call_{hashlib.sha256(f'{self.call_id}:{self.tool_number}'.encode()).hexdigest()[:24]}",
            "type": "function",
            "function": {"name": name, "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)},
        }
        self.timeline.tool_call(tool_call)
        answer = self.sender.send(
            self._message(
                "tool-calls",
                toolCallList=[tool_call],
                toolWithToolCallList=[{"type": "function", "function": {"name": name}, "toolCall": tool_call}],
            )
        )
        results = answer.get("results") or []
        if len(results) != 1 or results[0].get("toolCallId") != tool_call["id"]:
            raise SimulationError(f"The endpoint answered {name} without its result: {answer}")
        return results[0]

    def tool(self, name: str, arguments: dict) -> str:
        """Sends one tool call; the spoken result, or SimulationError when the endpoint answered an error."""
        answered = self.tool_answer(name, arguments)
        if answered.get("error") or not answered.get("result"):
            raise SimulationError(f"{name} failed: {answered.get('error') or 'no result'}")
        self.timeline.tool_result(self.timeline.messages[-1]["toolCalls"][0], answered["result"])
        return answered["result"]

    # --- the conversation ------------------------------------------------------------------------

    def _ask_availability(self) -> str:
        service = self.calendar.spoken_name
        today = timezone.now().astimezone(self.tz).date()
        first = today + timedelta(days=self.rng.randint(1, 4))
        self.timeline.say("user", f"Hi, this is {self.caller_name.split()[0]}. Do you have anything for a {service}?")
        self.timeline.say("bot", "One moment while I check the calendar.")
        answer = self.tool(
            "check_availability",
            {"date": first.isoformat(), "end_date": (first + timedelta(days=6)).isoformat(), "service": service},
        )
        self.offered = offered_slots(answer, tz=self.tz, today=today)
        self.timeline.say("bot", answer)
        return answer

    def _book(self) -> None:
        if not self.offered:
            raise SimulationError("The availability answer offered no time to book.")
        chosen = self.rng.choice(self.offered)
        self.timeline.say("user", f"{chosen:%A} at {spoken_time(chosen)} works for me.")
        self.timeline.say("bot", "Let me book that for you. Can I have your full name?")
        self.timeline.say("user", f"It's {self.caller_name}.")
        answer = self.tool(
            "book_appointment",
            {
                "start_time": chosen.replace(tzinfo=None).isoformat(),
                "name": self.caller_name,
                "service": self.calendar.spoken_name,
            },
        )
        if not answer.startswith("You're booked"):
            raise SimulationError(f"The booking did not go through: {answer}")
        self.booked_at = chosen
        self.timeline.say("bot", f"{answer} Is there anything else I can help with?")
        self.timeline.say("user", "No, that's all. Thank you!")
        self.timeline.say("bot", "You're welcome. Bye for now!")

    def run(self) -> None:
        self.status("in-progress")
        self.timeline.system(assistant_prompt_render(assistant=self.assistant))
        greeting = self.assistant.first_message or f"Thanks for calling {self.assistant.client.name}."
        self.timeline.say("bot", greeting)
        if self.scenario == Scenario.HANG_UP:
            self.timeline.seconds += 3
        elif self.scenario == Scenario.FAILED:
            self.timeline.say("user", "Hi, I was hoping to move my appointment next week.")
            self.timeline.seconds += 4
        elif self.scenario == Scenario.TRANSFERRED:
            self.timeline.say("user", "Hi, I have a question about a bill I got last month. Can I talk to someone?")
            self.timeline.say("bot", "Of course. I'm transferring you to a colleague now.")
            self.conversation_update()
            self.status("forwarding")
            self.timeline.seconds += 2
        else:
            self._ask_availability()
            self.conversation_update()
            if self.scenario == Scenario.BOOKED:
                self._book()
            else:
                self.timeline.say("user", "Hmm, let me check my schedule and call you back.")
                self.timeline.say("bot", "No problem. Have a good day!")
        self.conversation_update()
        ended_reason = ENDED_REASONS[self.scenario]
        self.status("ended", endedReason=ended_reason)
        self.report = self.end_of_call_report(ended_reason)
        self.sender.send(self.report)

    # --- the report ------------------------------------------------------------------------------

    def _analysis(self) -> dict:
        first = self.caller_name.split()[0]
        service = self.calendar.spoken_name
        if self.scenario == Scenario.HANG_UP:
            return {}  # Vapi skips the analysis of a call with fewer than two messages
        summaries = {
            Scenario.BOOKED: f"{self.caller_name} called to book a {service} and was booked for "
            f"{spoken_moment(self.booked_at)}."
            if self.booked_at
            else "",
            Scenario.AVAILABILITY_ONLY: f"{first} asked about openings for a {service}; the assistant offered a few "
            "times, and the caller will call back after checking their schedule.",
            Scenario.TRANSFERRED: f"{first} had a billing question and asked for a person; the call was "
            "transferred to the front desk.",
            Scenario.FAILED: f"{first} wanted to move an appointment, but the call ended on a technical error "
            "before the assistant could help.",
        }
        structured = {"callerName": self.caller_name, "intent": self.scenario.value, "service": service}
        if self.booked_at:
            structured["appointmentStart"] = self.booked_at.isoformat()
        success = self.scenario in (Scenario.BOOKED, Scenario.TRANSFERRED)
        return {
            "summary": summaries[self.scenario],
            "structuredData": structured,
            "successEvaluation": "true" if success else "false",
        }

    def _costs(self, minutes: float) -> list[dict]:
        assistant = self.assistant
        characters = sum(len(m["message"]) for m in self.timeline.messages if m["role"] == "bot")
        prompt_tokens = 900 * max(len([m for m in self.timeline.messages if m["role"] == "user"]), 1)
        model = {"provider": assistant.model_provider, "model": assistant.model}
        return [
            {"type": "transport", "provider": "twilio", "minutes": minutes, "cost": round(minutes * 0.0085, 4)},
            {
                "type": "transcriber",
                "transcriber": {"provider": assistant.transcriber_provider, "model": assistant.transcriber_model},
                "minutes": minutes,
                "cost": round(minutes * 0.01, 4),
            },
            {
                "type": "model",
                "model": model,
                "promptTokens": prompt_tokens,
                "completionTokens": characters // 4,
                "cost": round(prompt_tokens * 0.0000025 + characters / 4 * 0.00001, 4),
            },
            {
                "type": "voice",
                "voice": {"provider": assistant.voice_provider, "voiceId": assistant.voice_id},
                "characters": characters,
                "cost": round(characters * 0.00003, 4),
            },
            {"type": "vapi", "subType": "normal", "minutes": minutes, "cost": round(minutes * 0.05, 4)},
            {
                "type": "analysis",
                "analysisType": "summary",
                "model": model,
                "promptTokens": 600,
                "completionTokens": 60,
                "cost": 0.0021,
            },
        ]

    def end_of_call_report(self, ended_reason: str) -> dict:
        ended = self.timeline.at()
        minutes = round(self.timeline.seconds / 60, 4)
        costs = self._costs(minutes)
        recording_url = settings.PUBLIC_BASE_URL + reverse("vapi_sandbox:recording", args=[self.call_id])
        artifact = {
            "messages": list(self.timeline.messages),
            "messagesOpenAIFormatted": list(self.timeline.openai),
            "transcript": self.timeline.transcript(),
            "recordingUrl": recording_url,
        }
        return {
            **self._message("end-of-call-report", "ended"),
            "endedReason": ended_reason,
            "artifact": artifact,
            "analysis": self._analysis(),
            "cost": float(sum(Decimal(str(c["cost"])) for c in costs)),
            "costs": costs,
            "startedAt": iso_moment(self.timeline.started),
            "endedAt": iso_moment(ended),
        }
