"""The GHL stand-in: an in-process httpx transport that answers like GHL's v2 API, traps included.

State is kept in SandboxObject rows (provider "ghl"), so every process sees the same sandbox.
"""

import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from django.db import transaction
from django.utils import timezone

from integrations.ghl import specs
from integrations.sandbox.models import SandboxObject

PROVIDER = "ghl"
ACCESS_TOKEN_SECONDS = 86399
AUTH_CODE_SECONDS = 600
SLOT_UNAVAILABLE = "The slot you have selected is no longer available."
MAX_FREE_SLOT_DAYS = 31
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


def _new_id() -> str:
    return secrets.token_urlsafe(15)[:20]


def _objects(kind: str):
    return SandboxObject.objects.filter(provider=PROVIDER, kind=kind)


def _get(kind: str, object_id: str) -> SandboxObject | None:
    return _objects(kind).filter(object_id=object_id).first()


def _create(kind: str, data: dict, *, parent_id: str = "", object_id: str | None = None) -> SandboxObject:
    object_id = object_id or data.get("id") or _new_id()
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


def sandbox_locations() -> list[dict]:
    return [obj.data for obj in _objects("location").order_by("object_id")]


def sandbox_authorization_code_create(*, client_id: str, redirect_uri: str, scopes: list[str], location_id: str) -> str:
    """What the consent page hands back: a single-use code that expires in ten minutes."""
    location = _get("location", location_id)
    code = secrets.token_urlsafe(24)
    _create(
        "auth_code",
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scopes": scopes,
            "location_id": location_id,
            "company_id": location.parent_id,
            "expires_at": (timezone.now() + timedelta(seconds=AUTH_CODE_SECONDS)).isoformat(),
        },
        object_id=code,
    )
    return code


class GhlReplyError(Exception):
    """A GHL answer other than success, raised from deep inside a handler."""

    def __init__(self, status_code: int, body: dict):
        super().__init__(body.get("message"))
        self.status_code = status_code
        self.body = body


def _unauthorized(message: str) -> GhlReplyError:
    return GhlReplyError(401, {"statusCode": 401, "message": message, "error": "Unauthorized"})


def _bad_request(message: str) -> GhlReplyError:
    return GhlReplyError(400, {"statusCode": 400, "message": message})


def _not_found(message: str) -> GhlReplyError:
    return GhlReplyError(404, {"statusCode": 404, "message": message, "error": "Not Found"})


@dataclass
class SandboxCall:
    request: httpx.Request
    operation: specs.Operation | None
    args: tuple[str, ...]
    body: dict
    token: dict | None

    @property
    def query(self) -> httpx.QueryParams:
        return self.request.url.params


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _bad_request(f"Invalid date: {value}") from exc
    if parsed.tzinfo is None:
        raise _bad_request(f"Date must carry an offset: {value}")
    return parsed


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _bad_request(f"Invalid timezone: {name}") from exc


def _slot_length(calendar: dict, key: str = "slotDuration") -> timedelta:
    amount = calendar.get(key) or calendar.get("slotDuration", 30)
    return timedelta(hours=amount) if calendar.get(f"{key}Unit") == "hours" else timedelta(minutes=amount)


def _free_slot_starts(*, calendar: SandboxObject, start: datetime, end: datetime, ignore_event: str = "") -> list:
    """Open hours in the location's time zone, minus the past and every live appointment."""
    location = _get("location", calendar.parent_id)
    zone = _zone(location.data["timezone"])
    duration, interval = _slot_length(calendar.data), _slot_length(calendar.data, "slotInterval")
    busy = [
        (_parse_time(a.data["startTime"]), _parse_time(a.data["endTime"]))
        for a in _objects("appointment").filter(parent_id=calendar.object_id).exclude(object_id=ignore_event)
        if a.data.get("appointmentStatus") != "cancelled"
    ]
    earliest = max(start, timezone.now())
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
    calendar = _get("calendar", calendar_id)
    if calendar is None:
        raise _bad_request("Calendar not found")
    _check_location(call, calendar.parent_id)
    return calendar


def _check_location(call: SandboxCall, location_id: str) -> None:
    token = call.token
    if token["user_type"] == "Location":
        allowed = token["location_id"] == location_id
    else:
        allowed = _objects("location").filter(object_id=location_id, parent_id=token["company_id"]).exists()
    if not allowed:
        raise _unauthorized("The token does not have access to this location.")


def _appointment_response(data: dict) -> dict:
    keys = ("id", "calendarId", "locationId", "contactId", "startTime", "endTime", "title", "appointmentStatus")
    response = {key: data[key] for key in keys if key in data}
    return {**response, "meetingLocationType": "default", "isRecurring": False}


def _token_pair(*, user_type: str, company_id: str, location_id: str | None, scopes: list[str]) -> dict:
    access_token, refresh_token = f"sbx-at-{secrets.token_urlsafe(24)}", f"sbx-rt-{secrets.token_urlsafe(24)}"
    subject = {"user_type": user_type, "company_id": company_id, "location_id": location_id, "scopes": scopes}
    expires_at = timezone.now() + timedelta(seconds=ACCESS_TOKEN_SECONDS)
    _create("access_token", {**subject, "expires_at": expires_at.isoformat()}, object_id=access_token)
    _create("refresh_token", subject, object_id=refresh_token)
    response = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_SECONDS,
        "refresh_token": refresh_token,
        "scope": " ".join(scopes),
        "userType": user_type,
        "companyId": company_id,
        "userId": "sbxUser0000000000001",
    }
    if user_type == "Location":
        return {**response, "locationId": location_id}
    approved = list(_objects("location").filter(parent_id=company_id).values_list("object_id", flat=True))
    return {**response, "approvedLocations": approved, "isBulkInstallation": True}


def oauth_token(call: SandboxCall) -> tuple[int, dict]:
    body = call.body
    if body["grant_type"] == "authorization_code":
        code = _get("auth_code", body.get("code", ""))
        if (
            code is None
            or code.data["client_id"] != body["client_id"]
            or body.get("redirect_uri", code.data["redirect_uri"]) != code.data["redirect_uri"]
            or datetime.fromisoformat(code.data["expires_at"]) < timezone.now()
        ):
            raise _unauthorized("Invalid grant: authorization code is invalid")
        code.delete()
        user_type = body.get("user_type", "Location")
        subject = {"company_id": code.data["company_id"], "scopes": code.data["scopes"]}
        location_id = code.data["location_id"] if user_type == "Location" else None
        return 200, _token_pair(user_type=user_type, location_id=location_id, **subject)
    if body["grant_type"] == "refresh_token":
        with transaction.atomic():
            refresh = _objects("refresh_token").select_for_update().filter(object_id=body.get("refresh_token", ""))
            refresh = refresh.first()
            if refresh is None:
                # Single-use: GHL answers a reused refresh token exactly like a revoked one.
                raise GhlReplyError(
                    401,
                    {"statusCode": 401, "error": "invalid_grant", "message": "Invalid grant: refresh token is invalid"},
                )
            location = _get("location", refresh.data["location_id"] or "")
            if location is not None and not location.data.get("active", True):
                raise _bad_request("Location is not active")
            refresh.delete()
            return 200, _token_pair(**refresh.data)
    raise _bad_request("Invalid parameter: grant_type")


def oauth_location_token(call: SandboxCall) -> tuple[int, dict]:
    location = _get("location", call.body["locationId"])
    company_id = call.body["companyId"]
    if location is None or location.parent_id != company_id or company_id != call.token["company_id"]:
        raise _bad_request("Location not found for this company")
    pair = _token_pair(
        user_type="Location", company_id=location.parent_id, location_id=location.object_id, scopes=call.token["scopes"]
    )
    keys = ("access_token", "token_type", "expires_in", "scope", "locationId", "userId", "refresh_token")
    return 200, {key: pair[key] for key in keys}


def oauth_installed_locations(call: SandboxCall) -> tuple[int, dict]:
    locations = _objects("location").filter(parent_id=call.query["companyId"]).order_by("object_id")
    found = [
        {"_id": loc.object_id, "name": loc.data["name"], "address": loc.data["address"], "isInstalled": True}
        for loc in locations
    ]
    return 200, {"locations": found, "count": len(found), "installToFutureLocations": False}


def location_get(call: SandboxCall) -> tuple[int, dict]:
    location = _get("location", call.args[0])
    if location is None:
        raise _not_found("Location not found")
    _check_location(call, location.object_id)
    return 200, {"location": {key: value for key, value in location.data.items() if key != "active"}}


def calendars_list(call: SandboxCall) -> tuple[int, dict]:
    _check_location(call, call.query["locationId"])
    calendars = _objects("calendar").filter(parent_id=call.query["locationId"]).order_by("object_id")
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
        raise _bad_request("Date range cannot be more than 31 days")
    location = _get("location", calendar.parent_id)
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
        _objects("calendar").select_for_update().filter(pk=calendar.pk).first()
        if body["locationId"] != calendar.parent_id:
            raise _bad_request("Calendar does not belong to this location")
        contact = _get("contact", body["contactId"])
        if contact is None or contact.parent_id != calendar.parent_id:
            raise _bad_request("Contact not found")
        start = _parse_time(body["startTime"])
        end = _parse_time(body["endTime"]) if body.get("endTime") else start + _slot_length(calendar.data)
        if not body.get("ignoreFreeSlotValidation") and not _slot_is_free(calendar=calendar, start=start):
            raise _bad_request(SLOT_UNAVAILABLE)
        appointment = {
            "id": _new_id(),
            "calendarId": calendar.object_id,
            "locationId": calendar.parent_id,
            "contactId": contact.object_id,
            "title": body.get("title", f"{calendar.data['name']} with {contact.data.get('name') or 'guest'}"),
            "appointmentStatus": body.get("appointmentStatus", "confirmed"),
            "startTime": start.isoformat(),
            "endTime": end.isoformat(),
            "dateAdded": timezone.now().isoformat(),
        }
        _create("appointment", appointment, parent_id=calendar.object_id)
    return 200, _appointment_response(appointment)


def appointment_update(call: SandboxCall) -> tuple[int, dict]:
    body = call.body
    with transaction.atomic():
        appointment = _objects("appointment").select_for_update().filter(object_id=call.args[0]).first()
        if appointment is None:
            raise _not_found("Appointment not found")
        calendar = _calendar_for(call, body.get("calendarId", appointment.parent_id))
        data = dict(appointment.data)
        if "startTime" in body:
            start = _parse_time(body["startTime"])
            end = _parse_time(body["endTime"]) if body.get("endTime") else start + _slot_length(calendar.data)
            is_free = _slot_is_free(calendar=calendar, start=start, ignore_event=appointment.object_id)
            if not body.get("ignoreFreeSlotValidation") and not is_free:
                raise _bad_request(SLOT_UNAVAILABLE)
            data.update(startTime=start.isoformat(), endTime=end.isoformat())
        for key in ("title", "appointmentStatus"):
            if key in body:
                data[key] = body[key]
        data.update(calendarId=calendar.object_id, dateUpdated=timezone.now().isoformat())
        appointment.data, appointment.parent_id = data, calendar.object_id
        appointment.save(update_fields=["data", "parent_id"])
    return 200, _appointment_response(data)


def _contact_for(call: SandboxCall, contact_id: str) -> SandboxObject:
    contact = _get("contact", contact_id)
    if contact is None:
        raise _bad_request("Contact not found")
    _check_location(call, contact.parent_id)
    return contact


def _contact_by_phone(*, location_id: str, phone: str) -> SandboxObject | None:
    digits = re.sub(r"\D", "", phone)
    contacts = _objects("contact").filter(parent_id=location_id)
    return next((c for c in contacts if digits and re.sub(r"\D", "", c.data.get("phone") or "") == digits), None)


def contact_upsert(call: SandboxCall) -> tuple[int, dict]:
    body = call.body
    _check_location(call, body["locationId"])
    contact = _contact_by_phone(location_id=body["locationId"], phone=body.get("phone") or "")
    if contact is None and body.get("email"):
        email = body["email"].lower()
        contacts = _objects("contact").filter(parent_id=body["locationId"])
        contact = next((c for c in contacts if (c.data.get("email") or "").lower() == email), None)
    fields = {key: value for key, value in body.items() if value is not None and key != "createNewIfDuplicateAllowed"}
    now = timezone.now().isoformat()
    created = contact is None
    if created:
        contact = SandboxObject(provider=PROVIDER, kind="contact", object_id=_new_id(), parent_id=body["locationId"])
        contact.data = {"id": contact.object_id, "dateAdded": now}
    data = {**contact.data, **fields, "dateUpdated": now}
    full_name = " ".join(filter(None, [data.get("firstName"), data.get("lastName")]))
    if full_name and "name" not in fields:
        data["name"] = full_name
    contact.data = data
    contact.save()
    return 200, {"new": created, "contact": data}


def contact_find_duplicate(call: SandboxCall) -> tuple[int, dict]:
    _check_location(call, call.query["locationId"])
    contact = _contact_by_phone(location_id=call.query["locationId"], phone=call.query.get("number", ""))
    return 200, {"contact": contact.data if contact else None}


def contact_appointments(call: SandboxCall) -> tuple[int, dict]:
    contact = _contact_for(call, call.args[0])
    appointments = _objects("appointment").filter(data__contactId=contact.object_id).order_by("created_at")
    return 200, {"events": [appointment.data for appointment in appointments]}


def contact_note_create(call: SandboxCall) -> tuple[int, dict]:
    contact = _contact_for(call, call.args[0])
    note = {"id": _new_id(), "contactId": contact.object_id, "dateAdded": timezone.now().isoformat(), **call.body}
    _create("note", note, parent_id=contact.object_id)
    return 201, {"note": note}


ROUTES = (
    ("POST", r"/oauth/token", oauth_token),
    ("POST", r"/oauth/locationToken", oauth_location_token),
    ("GET", r"/oauth/installedLocations", oauth_installed_locations),
    ("GET", r"/locations/([^/]+)", location_get),
    ("GET", r"/calendars/", calendars_list),
    ("GET", r"/calendars/([^/]+)/free-slots", free_slots),
    ("POST", r"/calendars/events/appointments", appointment_create),
    ("PUT", r"/calendars/events/appointments/([^/]+)", appointment_update),
    ("POST", r"/contacts/upsert", contact_upsert),
    ("GET", r"/contacts/search/duplicate", contact_find_duplicate),
    ("GET", r"/contacts/([^/]+)/appointments", contact_appointments),
    ("POST", r"/contacts/([^/]+)/notes", contact_note_create),
)


def _authenticate(request: httpx.Request, operation: specs.Operation) -> dict:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    token = _get("access_token", presented) if scheme == "Bearer" and presented else None
    if token is None or datetime.fromisoformat(token.data["expires_at"]) < timezone.now():
        raise _unauthorized("Invalid JWT")
    schemes = operation.security_schemes
    wants_company = all(scheme.startswith("Agency") for scheme in schemes)
    allows_company = any(scheme.startswith("Agency") for scheme in schemes)
    is_company = token.data["user_type"] == "Company"
    has_scope = not operation.scopes or set(operation.scopes) & set(token.data["scopes"])
    if not has_scope or (is_company and not allows_company) or (wants_company and not is_company):
        raise _unauthorized("The token is not authorized for this scope.")
    return token.data


def _parse_body(request: httpx.Request) -> dict:
    if not request.content:
        return {}
    if request.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}
    try:
        return json.loads(request.content)
    except ValueError as exc:
        raise _bad_request("Invalid JSON body") from exc


def _answer(request: httpx.Request) -> tuple[int, dict]:
    routes = (
        (handler, re.fullmatch(pattern, request.url.path))
        for method, pattern, handler in ROUTES
        if method == request.method
    )
    handler, match = next(((handler, match) for handler, match in routes if match), (None, None))
    if handler is None:
        raise _not_found(f"Cannot {request.method} {request.url.path}")
    operation = specs.operation_for(method=request.method, path=request.url.path)
    if operation.version and request.headers.get("Version") not in operation.version:
        raise _unauthorized("Version header was not found")
    token = _authenticate(request, operation) if operation.security_schemes else None
    body = _parse_body(request)
    errors = specs.request_body_errors(operation=operation, body=body) if "requestBody" in operation.definition else []
    required = [p["name"] for p in operation.parameters("query") if p.get("required")]
    errors += [f"{name} should not be empty" for name in required if name not in request.url.params]
    if errors:
        raise GhlReplyError(422, {"statusCode": 422, "message": errors, "error": "Unprocessable Entity"})
    return handler(SandboxCall(request=request, operation=operation, args=match.groups(), body=body, token=token))


class GhlSandboxTransport(httpx.BaseTransport):
    """Plugged into the GHL client when settings.SANDBOX is on: no sockets, same shapes and traps as GHL."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        try:
            status_code, body = _answer(request)
        except GhlReplyError as reply:
            status_code, body = reply.status_code, reply.body
        return httpx.Response(status_code, json={**body, "traceId": secrets.token_hex(16)}, request=request)
