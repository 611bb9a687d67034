"""The sandbox's contacts: upsert by phone or email, duplicate search, read, update (custom fields named by id,
DND), tags, their appointments and notes."""

import re

from django.utils import timezone

from integrations.sandbox.models import SandboxObject

from . import custom_fields, replies, store
from .replies import GhlReplyError, SandboxCall


def contact_for(call: SandboxCall, contact_id: str) -> SandboxObject:
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
    contact = contact_for(call, call.args[0])
    appointments = store.objects("appointment").filter(data__contactId=contact.object_id).order_by("created_at")
    return 200, {"events": [appointment.data for appointment in appointments]}


def contact_notes(call: SandboxCall) -> tuple[int, dict]:
    contact = contact_for(call, call.args[0])
    notes = store.objects("note").filter(parent_id=contact.object_id).order_by("created_at")
    return 200, {"notes": [note.data for note in notes]}


def contact_note_create(call: SandboxCall) -> tuple[int, dict]:
    contact = contact_for(call, call.args[0])
    note = {"id": store.new_id(), "contactId": contact.object_id, "dateAdded": timezone.now().isoformat(), **call.body}
    store.create("note", note, parent_id=contact.object_id)
    return 201, {"note": note}


def contact_get(call: SandboxCall) -> tuple[int, dict]:
    return 200, {"contact": contact_for(call, call.args[0]).data}


def _custom_field_values(*, location_id: str, current: list[dict], given: list[dict]) -> list[dict]:
    """GHL refuses the whole update when one field id is not the location's (422)."""
    unknown = custom_fields.unknown_field_ids(location_id=location_id, field_ids=[field["id"] for field in given])
    if unknown:
        message = [f"Custom field with id {field_id} does not exist" for field_id in unknown]
        raise GhlReplyError(422, {"statusCode": 422, "message": message, "error": "Unprocessable Entity"})
    values = {field["id"]: field.get("value") for field in current}
    values.update({field["id"]: field.get("field_value") for field in given})
    return [{"id": field_id, "value": value} for field_id, value in values.items()]


def contact_update(call: SandboxCall) -> tuple[int, dict]:
    contact = contact_for(call, call.args[0])
    fields = {key: value for key, value in call.body.items() if key != "customFields"}
    data = {**contact.data, **fields, "dateUpdated": timezone.now().isoformat()}
    if "customFields" in call.body:
        data["customFields"] = _custom_field_values(
            location_id=contact.parent_id, current=contact.data.get("customFields", []), given=call.body["customFields"]
        )
    contact.data = data
    contact.save(update_fields=["data"])
    return 200, {"succeded": True, "contact": data}


def contact_tags_add(call: SandboxCall) -> tuple[int, dict]:
    contact = contact_for(call, call.args[0])
    tags = list(contact.data.get("tags", []))
    tags += [tag for tag in call.body["tags"] if tag not in tags]
    contact.data = {**contact.data, "tags": tags}
    contact.save(update_fields=["data"])
    return 201, {"tags": tags}


def sandbox_contact_dnd_set(*, location_id: str, phone: str, dnd: bool) -> None:
    """What a business does in GHL when a contact texts STOP: DND on for SMS (or off again)."""
    contact = _contact_by_phone(location_id=location_id, phone=phone)
    status = "active" if dnd else "inactive"
    contact.data = {**contact.data, "dnd": dnd, "dndSettings": {"SMS": {"status": status}}}
    contact.save(update_fields=["data"])
