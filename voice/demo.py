"""Demo data: one assistant per client, pushed to the Vapi sandbox so the portal shows it synced."""

from tenants.models import Agency

from . import selectors, services
from .models import Assistant, LiveTool

DEMO_PROMPT = (
    "You are the receptionist of {client_name}. Today is {today} ({time_zone}).\n"
    "Opening hours: {business_hours}.\n"
    "Offer a few times, confirm the caller's name, then book. Keep every answer short and friendly."
)


def demo_assistants_seed(*, agency: Agency) -> list[Assistant]:
    """Idempotent: creates the missing assistants, pushes each synchronously and gives each a number."""
    from voice.vapi.sandbox import sandbox_api_key

    account, _ = services.vapi_account_ensure(agency=agency)
    if not account.api_key:
        services.vapi_account_key_save(agency=agency, api_key=sandbox_api_key())
    assistants = []
    for client in agency.clients.all():
        assistant = client.assistants.first()
        if assistant is None:
            assistant = Assistant(
                client=client,
                name=f"{client.name} receptionist"[:40],
                first_message=f"Thanks for calling {client.name}, how can I help you today?",
                system_prompt=DEMO_PROMPT,
                time_zone=client.time_zone,
                live_tools=[
                    LiveTool.CHECK_AVAILABILITY,
                    LiveTool.BOOK_APPOINTMENT,
                    LiveTool.RESCHEDULE_APPOINTMENT,
                    LiveTool.CANCEL_APPOINTMENT,
                    LiveTool.END_CALL,
                ],
                end_call_phrases=["goodbye", "bye for now"],
            )
            assistant.full_clean()
            assistant.save()
            services.assistant_revision_create(assistant=assistant, author=None)
        if not assistant.calendars.exists():
            # Every connected calendar, called by its own name: "cleaning", "consultation".
            services.assistant_calendars_set(
                assistant=assistant,
                calendars=[
                    {"calendar_id": c["id"], "calendar_name": c["name"], "spoken_name": c["name"].lower()}
                    for c in selectors.client_calendars(client=client)
                ],
            )
        assistants.append(services.assistant_push(assistant_id=assistant.pk))
    _demo_phone_numbers_assign(agency=agency, assistants=assistants)
    return assistants


def _demo_phone_numbers_assign(*, agency: Agency, assistants: list[Assistant]) -> None:
    """One sandbox number per assistant, so simulated inbound calls find their assistant."""
    from voice.vapi.sandbox import sandbox_seed_phone_numbers

    sandbox_seed_phone_numbers(count=len(assistants))
    numbers = services.phone_numbers_sync(agency=agency)
    for number, assistant in zip(numbers, assistants, strict=False):
        if number.assistant is None and assistant.vapi_id:
            services.phone_number_assign(phone_number=number, assistant=assistant)
