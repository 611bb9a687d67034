"""The sandbox's state: GHL objects kept in SandboxObject rows (provider "ghl"), so every process sees them."""

import secrets

from integrations.sandbox.models import SandboxObject

PROVIDER = "ghl"
SANDBOX_COMPANY_ID = "sbxCompany0000000001"
SANDBOX_LOCATIONS = (
    ("sbxLocChicago0000001", "Lakeside Dental", "America/Chicago", "Chicago", "US"),
    ("sbxLocLondon00000001", "Thames Physio", "Europe/London", "London", "GB"),
    ("sbxLocDenver00000001", "Summit Plumbing", "America/Denver", "Denver", "US"),
    # Enough to spare once the demo's clients are connected: new clients can connect one in the sandbox too.
    ("sbxLocAustin00000001", "Hill Country Vet", "America/Chicago", "Austin", "US"),
    ("sbxLocPhoenix0000001", "Desert Bloom Spa", "America/Phoenix", "Phoenix", "US"),
    ("sbxLocNewYork0000001", "Harbor Chiropractic", "America/New_York", "New York", "US"),
)
SANDBOX_CALENDARS = (("Cleaning", 30), ("Consultation", 60))
NINE_TO_FIVE = {"openHour": 9, "openMinute": 0, "closeHour": 17, "closeMinute": 0}
WEEKDAYS_9_TO_17 = [{"daysOfTheWeek": [1, 2, 3, 4, 5], "hours": [NINE_TO_FIVE]}]
SANDBOX_CUSTOM_FIELDS = ("Reason for call", "Preferred callback time", "Insurance provider")


def new_id() -> str:
    return secrets.token_urlsafe(15)[:20]


def objects(kind: str):
    return SandboxObject.objects.filter(provider=PROVIDER, kind=kind)


def get(kind: str, object_id: str) -> SandboxObject | None:
    return objects(kind).filter(object_id=object_id).first()


def create(kind: str, data: dict, *, parent_id: str = "", object_id: str | None = None) -> SandboxObject:
    object_id = object_id or data.get("id") or new_id()
    return SandboxObject.objects.create(
        provider=PROVIDER, kind=kind, object_id=object_id, parent_id=parent_id, data=data
    )


def sandbox_seed() -> None:
    """One company with three locations in three time zones, each with two calendars. Idempotent."""
    SandboxObject.objects.get_or_create(
        provider=PROVIDER, kind="company", object_id=SANDBOX_COMPANY_ID, defaults={"data": {"name": "Sandbox Agency"}}
    )
    for location_id, name, time_zone, city, country in SANDBOX_LOCATIONS:
        location = {
            "id": location_id,
            "companyId": SANDBOX_COMPANY_ID,
            "name": name,
            "address": f"1 Main Street, {city}",
            "city": city,
            "country": country,
            "timezone": time_zone,
            "email": f"front-desk@{location_id.lower()}.example",
            "active": True,
        }
        SandboxObject.objects.get_or_create(
            provider=PROVIDER,
            kind="location",
            object_id=location_id,
            defaults={"parent_id": SANDBOX_COMPANY_ID, "data": location},
        )
        _custom_fields_seed(location_id)
        for calendar_name, minutes in SANDBOX_CALENDARS:
            calendar_id = f"{location_id[:12]}{calendar_name[:8]}"
            calendar = {
                "id": calendar_id,
                "locationId": location_id,
                "name": calendar_name,
                "isActive": True,
                "calendarType": "event",
                "slotDuration": minutes,
                "slotDurationUnit": "mins",
                "slotInterval": minutes,
                "slotIntervalUnit": "mins",
                "openHours": WEEKDAYS_9_TO_17,
            }
            SandboxObject.objects.get_or_create(
                provider=PROVIDER,
                kind="calendar",
                object_id=calendar_id,
                defaults={"parent_id": location_id, "data": calendar},
            )


def _custom_fields_seed(location_id: str) -> None:
    for position, name in enumerate(SANDBOX_CUSTOM_FIELDS):
        field_id = f"{location_id[:12]}cf{position:06d}"
        field = {
            "id": field_id,
            "name": name,
            "fieldKey": "contact." + name.lower().replace(" ", "_"),
            "dataType": "TEXT",
            "position": position,
            "locationId": location_id,
            "model": "contact",
        }
        SandboxObject.objects.get_or_create(
            provider=PROVIDER,
            kind="custom_field",
            object_id=field_id,
            defaults={"parent_id": location_id, "data": field},
        )


def sandbox_locations() -> list[dict]:
    return [obj.data for obj in objects("location").order_by("object_id")]
