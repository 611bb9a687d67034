"""Demo data: one assistant per client, pushed to the Vapi sandbox so the portal shows it synced, and a few
dozen simulated calls over the last 30 days (relative to today) so the call pages and charts have something to
show whatever the day of the month."""

import random
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from integrations.ghl.errors import GhlNotConnectedError
from integrations.vapi.sandbox import sandbox_api_key, sandbox_seed_phone_numbers
from tenants.models import Agency
from voice.assistants import selectors, services, vapi_org
from voice.assistants.defaults import new_assistant_defaults
from voice.models import Assistant, Call, LiveTool
from voice.simulator.conversation import Scenario, simulated_call_id
from voice.simulator.services import call_simulate

# The dashboards' window: every demo call lands in "the last 30 days", including today when it is a weekday.
DEMO_DAYS = 29
# A simulated call lasts up to a few minutes: it must have ended by now.
DEMO_CALL_ROOM = timedelta(minutes=10)
# About half booked, the rest what a front desk really hears: browsers, people asking for a person, hang-ups.
DEMO_SCENARIOS = (
    [Scenario.BOOKED] * 18
    + [Scenario.AVAILABILITY_ONLY] * 7
    + [Scenario.TRANSFERRED] * 5
    + [Scenario.HANG_UP] * 4
    + [Scenario.FAILED] * 2
)

DEMO_PROMPT = (
    "You are the receptionist of {client_name}. Today is {today} ({time_zone}).\n"
    "Opening hours: {business_hours}.\n"
    "Offer a few times, confirm the caller's name, then book. Keep every answer short and friendly."
)


def demo_assistants_seed(*, agency: Agency) -> list[Assistant]:
    """Idempotent: creates the missing assistants, pushes each synchronously and gives each a number."""
    account, _ = vapi_org.vapi_account_ensure(agency=agency)
    if not account.api_key:
        vapi_org.vapi_account_key_save(agency=agency, api_key=sandbox_api_key())
    assistants = []
    for client in agency.clients.all():
        assistant = client.assistants.first()
        if assistant is None:
            # The defaults, with every tool but transfer (no number to transfer to) and end-call phrases.
            assistant = Assistant(
                client=client,
                **{
                    **new_assistant_defaults(client=client),
                    "system_prompt": DEMO_PROMPT,
                    "live_tools": [tool for tool in LiveTool if tool != LiveTool.TRANSFER_CALL],
                    "end_call_phrases": ["goodbye", "bye for now"],
                },
            )
            assistant.full_clean()
            assistant.save()
            services.assistant_revision_create(assistant=assistant, author=None)
        if not assistant.calendars.exists():
            try:
                calendars = selectors.client_calendars(client=client)
            except GhlNotConnectedError:
                calendars = []  # a client not connected to GHL yet gets its calendars on its Edit page
            # Every connected calendar, called by its own name: "cleaning", "consultation".
            services.assistant_calendars_set(
                assistant=assistant,
                calendars=[
                    {"calendar_id": c["id"], "calendar_name": c["name"], "spoken_name": c["name"].lower()}
                    for c in calendars
                ],
            )
        assistants.append(services.assistant_push(assistant_id=assistant.pk))
    _demo_phone_numbers_assign(agency=agency, assistants=assistants)
    return assistants


def _demo_phone_numbers_assign(*, agency: Agency, assistants: list[Assistant]) -> None:
    """One sandbox number per assistant, so simulated inbound calls find their assistant."""
    sandbox_seed_phone_numbers(count=len(assistants))
    numbers = vapi_org.phone_numbers_sync(agency=agency)
    for number, assistant in zip(numbers, assistants, strict=False):
        if number.assistant is None and assistant.vapi_id:
            vapi_org.phone_number_assign(phone_number=number, assistant=assistant)


def _demo_call_start(rng: random.Random, tz: ZoneInfo) -> datetime:
    """A moment in opening hours on a weekday of the last 30 days, in the client's zone, never in the future."""
    now = timezone.now().astimezone(tz)
    day = now.date() - timedelta(days=rng.randint(0, DEMO_DAYS))
    if day.weekday() >= 5:  # the weekend: the Friday before, or the Monday after at the window's far end
        friday = day - timedelta(days=day.weekday() - 4)
        day = friday if (now.date() - friday).days <= DEMO_DAYS else day + timedelta(days=7 - day.weekday())
    start = datetime.combine(day, time(rng.randint(9, 16), rng.randrange(0, 60, 5)), tz)
    # Later today than now (the call would not have ended yet): the same time a week earlier.
    return start if start < now - DEMO_CALL_ROOM else start - timedelta(days=7)


def demo_calls_seed(*, agency: Agency) -> int:
    """Simulated past calls spread over the demo's assistants; idempotent (same seeds, same calls).

    Returns how many calls were simulated now; calls that already ended are left as they are."""
    assistants = list(Assistant.objects.filter(client__agency=agency).select_related("client").order_by("pk"))
    if not assistants:
        return 0
    rng = random.Random("agencyhub-demo-calls")  # noqa: S311 (demo data, not security)
    scenarios = list(DEMO_SCENARIOS)
    rng.shuffle(scenarios)
    simulated = 0
    for index, scenario in enumerate(scenarios):
        assistant = assistants[index % len(assistants)]
        started_at = _demo_call_start(rng, ZoneInfo(assistant.time_zone or assistant.client.time_zone))
        seed = f"demo-{index}"
        call_id = simulated_call_id(assistant=assistant, seed=seed)
        if Call.objects.filter(agency=agency, vapi_call_id=call_id).exists():
            continue
        # No transaction around it: the call's tools ask GHL, and no HTTP request runs inside transaction.atomic.
        call_simulate(assistant=assistant, scenario=scenario, seed=seed, started_at=started_at)
        simulated += 1
    return simulated


def demo_recordings_rebase(*, agency: Agency) -> int:
    """Points earlier demo calls' sandbox recordings at today's address: `make run PORT=8102` moves the app."""
    folder = reverse("vapi_sandbox:recording", args=[uuid.UUID(int=0)]).rsplit("/", 1)[0] + "/"
    moved = []
    for call in Call.objects.filter(agency=agency, recording_url__contains=folder).only("pk", "recording_url"):
        rebased = settings.PUBLIC_BASE_URL + call.recording_url[call.recording_url.index(folder) :]
        if rebased != call.recording_url:
            call.recording_url = rebased
            moved.append(call)
    Call.objects.bulk_update(moved, ["recording_url"])
    return len(moved)
