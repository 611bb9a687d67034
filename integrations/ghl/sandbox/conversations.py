"""The sandbox's Conversations: an SMS to a contact lands in its conversation, unless the contact has DND on;
a conversation is found by contact or started; a call is logged in it through a conversation provider."""

from django.utils import timezone

from . import contacts, replies, store
from .replies import SandboxCall

DND_REFUSAL = "Cannot send message as DND is active for SMS."


def sms_blocked_by_dnd(contact: dict) -> bool:
    """GHL's rule: DND on for all channels, or for SMS (active or permanent)."""
    sms = (contact.get("dndSettings") or {}).get("SMS") or {}
    return bool(contact.get("dnd")) or sms.get("status") in ("active", "permanent")


def _conversation_new(contact: dict) -> dict:
    now = timezone.now().isoformat()
    data = {
        "id": store.new_id(),
        "contactId": contact["id"],
        "locationId": contact.get("locationId", ""),
        "dateAdded": now,
        "dateUpdated": now,
    }
    return store.create("conversation", data, parent_id=contact["id"]).data


def _conversation_id(contact: dict) -> str:
    found = store.objects("conversation").filter(parent_id=contact["id"]).first()
    return found.object_id if found is not None else _conversation_new(contact)["id"]


MESSAGE_TYPES = {"SMS": (2, "TYPE_SMS"), "Call": (1, "TYPE_CALL")}


def _message_read(data: dict) -> dict:
    """A stored message as GET /conversations/{id}/messages shows it (GetMessageResponseDto)."""
    number, name = MESSAGE_TYPES[data["type"]]
    shown = {
        "id": data["id"],
        "type": number,
        "messageType": name,
        "locationId": data["locationId"],
        "contactId": data["contactId"],
        "conversationId": data["conversationId"],
        "dateAdded": data["dateAdded"],
        "body": data.get("body", ""),
        "direction": data["direction"],
        "contentType": "text/plain",
        "attachments": data.get("attachments", []),
        "source": "api",
    }
    if data["type"] == "SMS":
        shown["status"] = "delivered"
    else:
        shown["meta"] = {"callStatus": (data.get("call") or {}).get("status", "completed")}
    if data.get("conversationProviderId"):
        shown["conversationProviderId"] = data["conversationProviderId"]
    return shown


def _conversation_read(conversation: dict, contact: dict) -> dict:
    """A conversation as GET /conversations/search lists it (ConversationSchema)."""
    last = store.objects("message").filter(data__conversationId=conversation["id"]).order_by("-created_at").first()
    last_type = MESSAGE_TYPES[last.data["type"]][1] if last else "TYPE_SMS"
    return {
        "id": conversation["id"],
        "contactId": contact["id"],
        "locationId": conversation["locationId"],
        "lastMessageBody": last.data.get("body", "") if last else "",
        "lastMessageType": last_type,
        "type": "TYPE_PHONE",
        "unreadCount": 0,
        "fullName": contact.get("name") or "",
        "contactName": contact.get("name") or "",
        "email": contact.get("email") or "",
        "phone": contact.get("phone") or "",
    }


def conversation_search(call: SandboxCall) -> tuple[int, dict]:
    location_id = call.query["locationId"]
    replies.check_location(call, location_id)
    found = store.objects("conversation").filter(data__locationId=location_id).order_by("created_at")
    if call.query.get("contactId"):
        found = found.filter(parent_id=call.query["contactId"])
    conversations = []
    for conversation in found[: int(call.query.get("limit") or 20)]:
        contact = store.get("contact", conversation.parent_id)
        conversations.append(_conversation_read(conversation.data, contact.data))
    return 200, {"conversations": conversations, "total": found.count()}


def conversation_create(call: SandboxCall) -> tuple[int, dict]:
    replies.check_location(call, call.body["locationId"])
    contact = contacts.contact_for(call, call.body["contactId"]).data
    if store.objects("conversation").filter(parent_id=contact["id"]).exists():
        # GHL keeps one conversation per contact and refuses a second.
        raise replies.bad_request("Conversation already exists")
    conversation = _conversation_new(contact)
    return 201, {"success": True, "conversation": {**conversation, "deleted": False, "lastMessageDate": ""}}


def _conversation_for(call: SandboxCall, conversation_id: str) -> dict:
    conversation = store.get("conversation", conversation_id)
    if conversation is None:
        raise replies.bad_request("Conversation not found")
    # Conversations the sandbox started before it kept their location: the contact's location is theirs.
    location_id = conversation.data.get("locationId") or store.get("contact", conversation.parent_id).parent_id
    replies.check_location(call, location_id)
    return {**conversation.data, "id": conversation.object_id, "locationId": location_id}


def conversation_messages(call: SandboxCall) -> tuple[int, dict]:
    conversation = _conversation_for(call, call.args[0])
    found = store.objects("message").filter(data__conversationId=conversation["id"]).order_by("-created_at")
    limit = int(call.query.get("limit") or 20)
    shown = [_message_read(message.data) for message in found[:limit]]
    # The spec's shape (GetMessagesByConversationResponseDto).
    return 200, {
        "lastMessageId": shown[-1]["id"] if shown else "",
        "nextPage": found.count() > limit,
        "messages": shown,
    }


def _call_message_log(call: SandboxCall, *, direction: str) -> tuple[int, dict]:
    body = call.body
    conversation = _conversation_for(call, body["conversationId"])
    if body.get("contactId", conversation["contactId"]) != conversation["contactId"]:
        raise replies.bad_request("Conversation does not belong to this contact")
    if body["type"] != "Call":
        raise replies.bad_request(f"The sandbox logs calls only, not {body['type']}")
    if not body["conversationProviderId"].strip():
        # GHL logs only through a provider of an app installed in the location; the sandbox cannot tell which.
        raise replies.bad_request("Conversation provider not found")
    message = {
        "id": store.new_id(),
        "conversationId": conversation["id"],
        "contactId": conversation["contactId"],
        "locationId": conversation["locationId"],
        "type": "Call",
        "direction": direction,
        "body": body.get("message", ""),
        "attachments": body.get("attachments", []),
        "call": body.get("call", {}),
        "conversationProviderId": body["conversationProviderId"],
        "dateAdded": body.get("date") or timezone.now().isoformat(),
    }
    store.create("message", message, parent_id=conversation["contactId"])
    answer = {"success": True, "conversationId": conversation["id"], "messageId": message["id"]}
    return 200, {**answer, "message": "Message added", "contactId": message["contactId"]}


def message_inbound(call: SandboxCall) -> tuple[int, dict]:
    """Logs a call (or another message) the contact made, through the app's conversation provider."""
    return _call_message_log(call, direction="inbound")


def message_outbound(call: SandboxCall) -> tuple[int, dict]:
    """Logs a call placed to the contact; the spec's body has no text, only the call's details."""
    return _call_message_log(call, direction="outbound")


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


def sandbox_texts_by_appointment(appointment_ids: list[str]) -> dict[str, list[dict]]:
    """The SMS the sandbox sent about each appointment, oldest first: what the caller's phone received."""
    texts: dict[str, list[dict]] = {}
    found = store.objects("message").filter(data__type="SMS", data__appointmentId__in=appointment_ids)
    for message in found.order_by("created_at", "pk"):
        texts.setdefault(message.data["appointmentId"], []).append(message.data)
    return texts
