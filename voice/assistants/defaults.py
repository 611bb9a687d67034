"""What a new assistant starts with, before staff edit anything: the New assistant form and the demo both use it."""

from tenants.models import ClientAccount
from voice.models import LiveTool, default_business_hours

DEFAULT_PROMPT = (
    "You are the friendly receptionist of {client_name}. Today is {today}; times are in {time_zone}.\n"
    "Opening hours: {business_hours}.\n"
    "Help callers find a time and book, reschedule or cancel appointments. Keep answers short."
)
DEFAULT_LIVE_TOOLS = (LiveTool.CHECK_AVAILABILITY, LiveTool.BOOK_APPOINTMENT, LiveTool.END_CALL)


def new_assistant_defaults(*, client: ClientAccount) -> dict:
    """The fields of a new assistant for this client, as keyword arguments of Assistant."""
    return {
        "name": f"{client.name} receptionist"[:40],
        "first_message": f"Thanks for calling {client.name}, how can I help you today?",
        "system_prompt": DEFAULT_PROMPT,
        "time_zone": client.time_zone,
        "business_hours": default_business_hours(),
        "live_tools": list(DEFAULT_LIVE_TOOLS),
    }
