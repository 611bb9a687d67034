"""The sandbox's calendars: free slots from open hours minus appointments, and booking with GHL's slot check."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone

from integrations.clock import clock_now
from integrations.ghl import specs
from integrations.sandbox.models import SandboxObject

from . import replies, store
from .replies import GhlReplyError, SandboxCall
from .webhooks import appointment_event, sandbox_webhook_send

SLOT_UNAVAILABLE = "The slot you have selected is no longer available."
MAX_FREE_SLOT_DAYS = 31


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise replies.bad_request(f"Invalid date: {value}") from exc
    if parsed.tzinfo is None:
        raise replies.bad_request(f"Date must carry an offset: {value}")
    return parsed


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise replies.bad_request(f"Invalid timezone: {name}") from exc


def _slot_length(calendar: dict, key: str = "slotDuration") -> timedelta:
    amount = calendar.get(key) or calendar.get("slotDuration", 30)
    return timedelta(hours=amount) if calendar.get(f"{key}Unit") == "hours" else timedelta(minutes=amount)


def _free_slot_starts(*, calendar: SandboxObject, start: datetime, end: datetime, ignore_event: str = "") -> list:
    """Open hours in the location's time zone, minus the past and every live appointment."""
    location = store.get("location", calendar.parent_id)
    zone = _zone(location.data["timezone"])
    duration, interval = _slot_length(calendar.data), _slot_length(calendar.data, "slotInterval")
    busy = [
        (_parse_time(a.data["startTime"]), _parse_time(a.data["endTime"]))
        for a in store.objects("appointment").filter(parent_id=calendar.object_id).exclude(object_id=ignore_event)
        if a.data.get("appointmentStatus") != "cancelled"
    ]
    earliest = max(start, clock_now())
    starts = []
    day = start.astimezone(zone).date()
    while day <= end.astimezone(zone).date():
        for open_hour in calendar.data.get("openHours", []):
            # GHL numbers days from Sunday = 0; Python's isoweekday() has Sunday = 7.
            if day.isoweekday() % 7 not in open_hour["daysOfTheWeek"]:
                continue
            for hours in open_hour["hours"]:
                # Stepped in real (UTC) time: wall-clock steps would offer 2:30 AM in the spring-forward
                # gap and skip the repeated hour on the fall-back day.
                slot = datetime(day.year, day.month, day.day, hours["openHour"], hours["openMinute"], tzinfo=zone)
                close = datetime(day.year, day.month, day.day, hours["closeHour"], hours["closeMinute"], tzinfo=zone)
                slot, close = slot.astimezone(UTC), close.astimezone(UTC)
                while slot + duration <= close:
                    overlaps = any(slot < busy_end and busy_start < slot + duration for busy_start, busy_end in busy)
                    if earliest <= slot <= end and not overlaps:
                        starts.append(slot.astimezone(zone))
                    slot += interval
        day += timedelta(days=1)
    return starts


def _calendar_for(call: SandboxCall, calendar_id: str) -> SandboxObject:
    calendar = store.get("calendar", calendar_id)
    if calendar is None:
        raise replies.bad_request("Calendar not found")
    replies.check_location(call, calendar.parent_id)
    return calendar


def _appointment_response(data: dict) -> dict:
    keys = ("id", "calendarId", "locationId", "contactId", "startTime", "endTime", "title", "appointmentStatus")
    response = {key: data[key] for key in keys if key in data}
    return {**response, "meetingLocationType": "default", "isRecurring": False}


def calendars_list(call: SandboxCall) -> tuple[int, dict]:
    replies.check_location(call, call.query["locationId"])
    calendars = store.objects("calendar").filter(parent_id=call.query["locationId"]).order_by("object_id")
    return 200, {"calendars": [calendar.data for calendar in calendars]}


def free_slots(call: SandboxCall) -> tuple[int, dict]:
    calendar = _calendar_for(call, call.args[0])
    try:
        start_ms, end_ms = (int(call.query[key]) for key in ("startDate", "endDate"))
    except ValueError as exc:
        raise GhlReplyError(
            422,
            {"statusCode": 422, "message": ["startDate and endDate must be numbers"], "error": "Unprocessable Entity"},
        ) from exc
    if end_ms - start_ms > MAX_FREE_SLOT_DAYS * 86_400_000:
        raise replies.bad_request("Date range cannot be more than 31 days")
    location = store.get("location", calendar.parent_id)
    zone = _zone(call.query.get("timezone") or location.data["timezone"])
    start, end = (datetime.fromtimestamp(ms / 1000, tz=zone) for ms in (start_ms, end_ms))
    days: dict[str, dict] = {}
    for slot in _free_slot_starts(calendar=calendar, start=start, end=end):
        local = slot.astimezone(zone)
        days.setdefault(local.date().isoformat(), {"slots": []})["slots"].append(local.isoformat())
    return 200, days


def _slot_is_free(*, calendar: SandboxObject, start: datetime, ignore_event: str = "") -> bool:
    starts = _free_slot_starts(calendar=calendar, start=start, end=start, ignore_event=ignore_event)
    # By UTC instant: Python never finds a time in the repeated fall-back hour equal to one in another zone.
    return start.astimezone(UTC) in {slot.astimezone(UTC) for slot in starts}


def appointment_create(call: SandboxCall) -> tuple[int, dict]:
    body = call.body
    with transaction.atomic():
        # One booking at a time per calendar, so two callers cannot both take the last slot.
        calendar = _calendar_for(call, body["calendarId"])
        store.objects("calendar").select_for_update().filter(pk=calendar.pk).first()
        if body["locationId"] != calendar.parent_id:
            raise replies.bad_request("Calendar does not belong to this location")
        contact = store.get("contact", body["contactId"])
        if contact is None or contact.parent_id != calendar.parent_id:
            raise replies.bad_request("Contact not found")
        start = _parse_time(body["startTime"])
        end = _parse_time(body["endTime"]) if body.get("endTime") else start + _slot_length(calendar.data)
        if not body.get("ignoreFreeSlotValidation") and not _slot_is_free(calendar=calendar, start=start):
            raise replies.bad_request(SLOT_UNAVAILABLE)
        appointment = {
            "id": store.new_id(),
            "calendarId": calendar.object_id,
            "locationId": calendar.parent_id,
            "contactId": contact.object_id,
            "title": body.get("title", f"{calendar.data['name']} with {contact.data.get('name') or 'guest'}"),
            "appointmentStatus": body.get("appointmentStatus", "confirmed"),
            "startTime": start.isoformat(),
            "endTime": end.isoformat(),
            "dateAdded": timezone.now().isoformat(),
        }
        store.create("appointment", appointment, parent_id=calendar.object_id)
    return 200, _appointment_response(appointment)


def appointment_update(call: SandboxCall) -> tuple[int, dict]:
    body = call.body
    with transaction.atomic():
        appointment = store.objects("appointment").select_for_update().filter(object_id=call.args[0]).first()
        if appointment is None:
            raise replies.not_found("Appointment not found")
        calendar = _calendar_for(call, body.get("calendarId", appointment.parent_id))
        data = dict(appointment.data)
        if "startTime" in body:
            start = _parse_time(body["startTime"])
            end = _parse_time(body["endTime"]) if body.get("endTime") else start + _slot_length(calendar.data)
            is_free = _slot_is_free(calendar=calendar, start=start, ignore_event=appointment.object_id)
            if not body.get("ignoreFreeSlotValidation") and not is_free:
                raise replies.bad_request(SLOT_UNAVAILABLE)
            data.update(startTime=start.isoformat(), endTime=end.isoformat())
        for key in ("title", "appointmentStatus"):
            if key in body:
                data[key] = body[key]
        data.update(calendarId=calendar.object_id, dateUpdated=timezone.now().isoformat())
        appointment.data, appointment.parent_id = data, calendar.object_id
        appointment.save(update_fields=["data", "parent_id"])
    return 200, _appointment_response(data)


def appointment_get(call: SandboxCall) -> tuple[int, dict]:
    appointment = store.get("appointment", call.args[0])
    if appointment is None:
        raise replies.not_found("Appointment not found")
    replies.check_location(call, appointment.data["locationId"])
    data = appointment.data
    event = {
        **_appointment_response(data),
        "groupId": "",
        "assignedUserId": "",
        "users": [],
        "dateAdded": data["dateAdded"],
        "dateUpdated": data.get("dateUpdated", data["dateAdded"]),
    }
    return 200, {"event": event}


def sandbox_appointment_status_set(*, appointment_id: str, status: str, notify: bool = True) -> dict:
    """What the business does in GHL after the visit: marks the appointment showed, noshow, cancelled...
    Like GHL, the change is then sent as an AppointmentUpdate webhook (unless `notify` is off)."""
    if status not in specs.appointment_statuses():
        raise ValueError(f"GHL has no appointment status {status!r}")
    appointment = store.get("appointment", appointment_id)
    if appointment is None:
        raise ValueError(f"The sandbox has no appointment {appointment_id}")
    appointment.data = {**appointment.data, "appointmentStatus": status, "dateUpdated": timezone.now().isoformat()}
    appointment.save(update_fields=["data"])
    if notify:
        sandbox_webhook_send(appointment_event(event_type="AppointmentUpdate", appointment=appointment.data))
    return appointment.data


def sandbox_appointments(*, location_id: str = "", limit: int = 50) -> list[dict]:
    """The sandbox's appointments, latest start first (what the business sees in its GHL calendar)."""
    found = store.objects("appointment")
    if location_id:
        found = found.filter(data__locationId=location_id)
    return [a.data for a in found.order_by("-data__startTime", "-pk")[:limit]]


def sandbox_appointments_rewind(*, location_id: str, to: datetime) -> int:
    """The location's calendars as they were at `to`: appointments added since are removed (a replayed call
    meets the calendar its caller met). Returns how many were removed."""
    calendar_ids = store.objects("calendar").filter(parent_id=location_id).values_list("object_id", flat=True)
    later = [
        appointment.pk
        for appointment in store.objects("appointment").filter(parent_id__in=list(calendar_ids))
        if _parse_time(appointment.data["dateAdded"]) >= to
    ]
    return SandboxObject.objects.filter(pk__in=later).delete()[0]
