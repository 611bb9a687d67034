"""The sandbox's Conversations: an SMS to a contact lands in its conversation, unless the contact has DND on."""

from django.utils import timezone

from . import contacts, replies, store
from .replies import SandboxCall

DND_REFUSAL = "Cannot send message as DND is active for SMS."


def sms_blocked_by_dnd(contact: dict) -> bool:
    """GHL's rule: DND on for all channels, or for SMS (active or permanent)."""
    sms = (contact.get("dndSettings") or {}).get("SMS") or {}
    return bool(contact.get("dnd")) or sms.get("status") in ("active", "permanent")


def _conversation_id(contact: dict) -> str:
    found = store.objects("conversation").filter(parent_id=contact["id"]).first()
    if found is None:
        found = store.create("conversation", {"contactId": contact["id"]}, parent_id=contact["id"])
    return found.object_id


def message_send(call: SandboxCall) -> tuple[int, dict]:
    body = call.body
    contact = contacts.contact_for(call, body["contactId"]).data
    if body["type"] != "SMS":
        raise replies.bad_request(f"The sandbox sends SMS only, not {body['type']}")
    if sms_blocked_by_dnd(contact):
        raise replies.bad_request(DND_REFUSAL)
    if not contact.get("phone"):
        raise replies.bad_request("Contact does not have a phone number")
    conversation_id = _conversation_id(contact)
    message = {
        "id": store.new_id(),
        "conversationId": conversation_id,
        "contactId": contact["id"],
        "locationId": contact.get("locationId", ""),
        "type": "SMS",
        "direction": "outbound",
        "body": body.get("message", ""),
        "phone": contact["phone"],
        "appointmentId": body.get("appointmentId", ""),
        "dateAdded": timezone.now().isoformat(),
    }
    store.create("message", message, parent_id=contact["id"])
    return 200, {"conversationId": conversation_id, "messageId": message["id"], "status": "delivered"}
