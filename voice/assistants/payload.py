import re
from datetime import datetime
from zoneinfo import ZoneInfo

from voice.assistants.vapi_org import vapi_account_ensure, vapi_endpoint_url
from voice.live.caller import CALL_START_VARIABLES
from voice.models import WEEKDAYS, Assistant, LiveTool

# Explicit since Vapi's 2025-05 change: only what the server-URL endpoint handles
# (assistant-request is not an assistant message: it goes to the phone number's server).
SERVER_MESSAGES = [
    "tool-calls",
    "status-update",
    "end-of-call-report",
    "hang",
    "transfer-destination-request",
]


WEEKDAY_NAMES = dict(zip(WEEKDAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))


# Vapi retries a message only with a backoffPlan (none by default, reference vapi-api.md §4.3): while our
# database is down an event we cannot store is answered 503, and these retries (1+2+...+32 s) carry it past
# the outage. excludedStatusCodes is left out: the spec types its items as objects, and a retried 4xx is harmless.
SERVER_BACKOFF_PLAN = {"type": "exponential", "maxRetries": 6, "baseDelaySeconds": 1}


def business_hours_text(hours: dict) -> str:
    parts = []
    for day in WEEKDAYS:
        span = hours.get(day)
        parts.append(f"{WEEKDAY_NAMES[day]} {span['open']}-{span['close']}" if span else f"{WEEKDAY_NAMES[day]} closed")
    return ", ".join(parts)


# A {{name}} of the call's variables (LiquidJS, filled by Vapi when the call starts), spaces allowed inside.
CALL_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


# {today} in the pushed prompt: Vapi's LiquidJS fills in the date of each call, in the client's zone (reference
# vapi-api.md, dynamic variables). Pushed as a date it would stay the day of the push for every later call.
LIQUID_TODAY = '{{{{"now" | date: "%A, %B %-e, %Y", "{zone}"}}}}'


def assistant_prompt_render(
    *, assistant: Assistant, prompt: str | None = None, call_examples: bool = False, for_vapi: bool = False
) -> str:
    """The system prompt with {client_name}, {time_zone}, {business_hours} and {today} filled in.

    {today} is today's date in the client's zone, or for Vapi (`for_vapi`, the pushed assistant) an expression
    Vapi fills in at each call. The call's {{variables}} (voice.live.caller) are left for Vapi to fill at each
    call, or shown with their example values when `call_examples` (the preview)."""
    if for_vapi:
        today = LIQUID_TODAY.format(zone=assistant.time_zone)
    else:
        today = datetime.now(ZoneInfo(assistant.time_zone)).strftime("%A, %B %-d, %Y")
    values = {
        "client_name": assistant.client.name,
        "time_zone": assistant.time_zone,
        "business_hours": business_hours_text(assistant.business_hours),
        "today": today,
    }
    text = assistant.system_prompt if prompt is None else prompt
    # Only known variables are replaced, so stray braces in a prompt never break rendering; a {{name}} is
    # Vapi's, never ours.
    known = "|".join(values)
    text = re.sub(r"(?<!\{)\{(" + known + r")\}(?!\})", lambda match: values[match[1]], text)
    if call_examples:
        examples = {variable.name: variable.example for variable in CALL_START_VARIABLES}
        text = CALL_VARIABLE.sub(lambda match: examples.get(match[1], match[0]), text)
    return text


def _function_tool(*, name: str, description: str, properties: dict, required: list[str], start: str) -> dict:
    return {
        "type": "function",
        "async": False,
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
        "messages": [
            {"type": "request-start", "content": start},
            {
                "type": "request-response-delayed",
                "content": "Thanks for your patience, this is taking a moment.",
                "timingMilliseconds": 4000,
            },
            {"type": "request-failed", "content": "Sorry, I couldn't reach the calendar just now."},
        ],
    }


def _service_property(assistant: Assistant) -> dict:
    """The `service` argument: free text, or one of the calendars' spoken names when there are any."""
    service = {"type": "string", "description": "What the appointment is for."}
    spoken = [c.spoken_name for c in assistant.calendars.all()]
    if spoken:
        service["enum"] = spoken
    return service


def _calendar_tools(assistant: Assistant) -> dict[str, dict]:
    """The four calendar tools the live endpoint answers, by LiveTool."""
    service = _service_property(assistant)
    start_time = {
        "type": "string",
        "description": f"ISO 8601 start, e.g. 2026-03-02T14:30; without an offset it is {assistant.time_zone} time.",
    }
    return {
        LiveTool.CHECK_AVAILABILITY: _function_tool(
            name="check_availability",
            description="Find open appointment times on a day or in a date range.",
            properties={
                "date": {"type": "string", "description": "A day (YYYY-MM-DD) or the first day of a range."},
                "end_date": {"type": "string", "description": "Last day of the range (YYYY-MM-DD), optional."},
                "part_of_day": {"type": "string", "enum": ["morning", "afternoon", "evening"]},
                "service": service,
            },
            required=["date"],
            start="One moment while I check the calendar.",
        ),
        LiveTool.BOOK_APPOINTMENT: _function_tool(
            name="book_appointment",
            description="Book an appointment at a time the caller chose.",
            properties={
                "start_time": start_time,
                "name": {"type": "string", "description": "The caller's full name."},
                "phone": {"type": "string", "description": "Phone number; defaults to the caller's."},
                "email": {"type": "string"},
                "notes": {"type": "string"},
                "service": service,
            },
            required=["start_time", "name"],
            start="Let me book that for you.",
        ),
        LiveTool.RESCHEDULE_APPOINTMENT: _function_tool(
            name="reschedule_appointment",
            description="Move one of the caller's upcoming appointments to a new time.",
            properties={
                "appointment_time": {"type": "string", "description": "When the existing appointment is."},
                "new_start_time": start_time,
            },
            required=["new_start_time"],
            start="Let me move that for you.",
        ),
        LiveTool.CANCEL_APPOINTMENT: _function_tool(
            name="cancel_appointment",
            description="Cancel one of the caller's upcoming appointments.",
            properties={"appointment_time": {"type": "string", "description": "When the appointment is."}},
            required=[],
            start="One moment while I cancel that.",
        ),
    }


def _transfer_tool(number: str) -> dict:
    destination = {
        "type": "number",
        "number": number,
        "message": "I'm transferring you to a colleague now.",
        "description": "A person at the front desk.",
    }
    return {"type": "transferCall", "destinations": [destination]}


def _assistant_tools(assistant: Assistant) -> list[dict]:
    """The assistant's live tools in LiveTool order: calendar tools inline, then transfer and end call."""
    calendar_tools = _calendar_tools(assistant)
    tools = [calendar_tools[tool] for tool in LiveTool if tool in assistant.live_tools and tool in calendar_tools]
    if LiveTool.TRANSFER_CALL in assistant.live_tools and assistant.transfer_number:
        tools.append(_transfer_tool(assistant.transfer_number))
    if LiveTool.END_CALL in assistant.live_tools:
        tools.append({"type": "endCall"})
    return tools


def assistant_payload(*, assistant: Assistant) -> dict:
    """The one body for POST (create) and PATCH (update).

    Both are complete and identical in shape: Vapi's PATCH replaces nested objects whole, so an
    update must carry everything a create does; neither carries read-only or legacy fields."""
    account, _ = vapi_account_ensure(agency=assistant.client.agency)
    payload = {
        "name": assistant.name[:40],
        "firstMessage": assistant.first_message,
        "firstMessageMode": "assistant-speaks-first" if assistant.first_message else "assistant-waits-for-user",
        "model": {
            "provider": assistant.model_provider,
            "model": assistant.model,
            "messages": [{"role": "system", "content": assistant_prompt_render(assistant=assistant, for_vapi=True)}],
            "tools": _assistant_tools(assistant),
        },
        "voice": {"provider": assistant.voice_provider, "voiceId": assistant.voice_id},
        "transcriber": {
            "provider": assistant.transcriber_provider,
            "model": assistant.transcriber_model,
            "language": assistant.transcriber_language,
        },
        "endCallPhrases": [phrase[:140] for phrase in assistant.end_call_phrases],
        "server": {
            "url": vapi_endpoint_url(agency=assistant.client.agency),
            "headers": {"X-Vapi-Secret": account.webhook_secret},
            "backoffPlan": SERVER_BACKOFF_PLAN,
        },
        "serverMessages": list(SERVER_MESSAGES),
        "metadata": {
            "agencyId": str(assistant.client.agency.public_id),
            "clientId": str(assistant.client.public_id),
            "assistantId": str(assistant.public_id),
        },
    }
    return payload
