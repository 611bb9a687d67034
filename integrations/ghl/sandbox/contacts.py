"""The sandbox's contacts: upsert by phone or email, duplicate search, their appointments and notes."""

import re

from django.utils import timezone

from integrations.sandbox.models import SandboxObject

from . import replies, store
from .replies import GhlReplyError, SandboxCall


def _contact_for(call: SandboxCall, contact_id: str) -> SandboxObject:
    contact = store.get("contact", contact_id)
    if contact is None:
        raise replies.bad_request("Contact not found")
    replies.check_location(call, contact.parent_id)
    return contact


def _contact_by_phone(*, location_id: str, phone: str) -> SandboxObject | None:
    digits = re.sub(r"\D", "", phone)
    contacts = store.objects("contact").filter(parent_id=location_id)
    return next((c for c in contacts if digits and re.sub(r"\D", "", c.data.get("phone") or "") == digits), None)


# GHL checks an email's shape and answers with its validator's wording (a 422, common-schemas.json's shape).
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def contact_upsert(call: SandboxCall) -> tuple[int, dict]:
    body = call.body
    replies.check_location(call, body["locationId"])
    if body.get("email") and not EMAIL_SHAPE.fullmatch(body["email"]):
        raise GhlReplyError(
            422, {"statusCode": 422, "message": ["email must be an email"], "error": "Unprocessable Entity"}
        )
    contact = _contact_by_phone(location_id=body["locationId"], phone=body.get("phone") or "")
    if contact is None and body.get("email"):
        email = body["email"].lower()
        contacts = store.objects("contact").filter(parent_id=body["locationId"])
        contact = next((c for c in contacts if (c.data.get("email") or "").lower() == email), None)
    fields = {key: value for key, value in body.items() if value is not None and key != "createNewIfDuplicateAllowed"}
    now = timezone.now().isoformat()
    created = contact is None
    if created:
        contact = SandboxObject(
            provider=store.PROVIDER, kind="contact", object_id=store.new_id(), parent_id=body["locationId"]
        )
        contact.data = {"id": contact.object_id, "dateAdded": now}
    data = {**contact.data, **fields, "dateUpdated": now}
    full_name = " ".join(filter(None, [data.get("firstName"), data.get("lastName")]))
    if full_name and "name" not in fields:
        data["name"] = full_name
    contact.data = data
    contact.save()
    return 200, {"new": created, "contact": data}


def contact_find_duplicate(call: SandboxCall) -> tuple[int, dict]:
    replies.check_location(call, call.query["locationId"])
    contact = _contact_by_phone(location_id=call.query["locationId"], phone=call.query.get("number", ""))
    return 200, {"contact": contact.data if contact else None}


def contact_appointments(call: SandboxCall) -> tuple[int, dict]:
    contact = _contact_for(call, call.args[0])
    appointments = store.objects("appointment").filter(data__contactId=contact.object_id).order_by("created_at")
    return 200, {"events": [appointment.data for appointment in appointments]}


def contact_notes(call: SandboxCall) -> tuple[int, dict]:
    contact = _contact_for(call, call.args[0])
    notes = store.objects("note").filter(parent_id=contact.object_id).order_by("created_at")
    return 200, {"notes": [note.data for note in notes]}


def contact_note_create(call: SandboxCall) -> tuple[int, dict]:
    contact = _contact_for(call, call.args[0])
    note = {"id": store.new_id(), "contactId": contact.object_id, "dateAdded": timezone.now().isoformat(), **call.body}
    store.create("note", note, parent_id=contact.object_id)
    return 201, {"note": note}
