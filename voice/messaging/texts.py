"""The words of a text to a caller: the client's template filled with the appointment in the client's zone."""

from datetime import datetime
from string import Formatter
from zoneinfo import ZoneInfo

from voice.models import MessagingSettings, TextMessageKind

PLACEHOLDERS = ("business", "service", "date", "time", "place", "how_to_change", "name")
MAX_TEXT_LENGTH = 480  # three SMS segments: longer texts get split and cost more


def template_placeholders(template: str) -> list[str]:
    """The {names} a template uses; raises ValueError when a brace is left open."""
    return [name for _, name, _, _ in Formatter().parse(template) if name is not None]


def template_for(settings: MessagingSettings, kind: str) -> str:
    return {
        TextMessageKind.BOOKED: settings.booked_text,
        TextMessageKind.RESCHEDULED: settings.rescheduled_text,
        TextMessageKind.CANCELLED: settings.cancelled_text,
        TextMessageKind.REMINDER: settings.reminder_text,
    }[kind]


def appointment_text(
    *, settings: MessagingSettings, kind: str, service: str, start: datetime, zone: ZoneInfo, name: str = ""
) -> str:
    local = start.astimezone(zone)
    values = {
        "business": settings.client.name,
        "service": service or "appointment",
        "date": f"{local:%A, %B} {local.day}",
        "time": f"{local.hour % 12 or 12}:{local:%M %p} {local.tzname()}",
        "place": settings.place or settings.client.name,
        "how_to_change": settings.how_to_change,
        "name": name.split(" ")[0] if name else "",
    }
    text = template_for(settings, kind).format_map(values)
    return " ".join(text.split())[:MAX_TEXT_LENGTH]
