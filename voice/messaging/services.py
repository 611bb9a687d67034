"""Texts to callers through GHL Conversations: written once per cause before GHL is asked, sent by whichever
worker claims the row, never to a contact with Do Not Disturb on."""

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations.ghl.errors import GhlContactDnd
from integrations.ghl.tokens import ghl_client_for
from integrations.http import ProviderError
from tenants.models import ClientAccount
from voice.messaging import tasks
from voice.messaging.selectors import messaging_settings_for
from voice.messaging.texts import appointment_text
from voice.models import STANDING_BOOKING_STATUSES, Booking, TextMessage, TextMessageKind, TextMessageStatus

logger = logging.getLogger(__name__)

SKIPPED_DND = "DND: the contact has Do Not Disturb on for SMS"


def text_message_create(**fields) -> tuple[TextMessage, bool]:
    """The row for one cause; when it already exists (a repeat, a replay, another worker), that one."""
    key = {name: fields[name] for name in ("client_id", "appointment_id", "kind", "change_version")}
    try:
        with transaction.atomic():
            return TextMessage.objects.create(**fields), True
    except IntegrityError:
        return TextMessage.objects.get(**key), False


def sms_confirmation_enqueue(
    *,
    client_id: int,
    kind: str,
    appointment_id: str,
    cause: str,
    start: datetime,
    service: str,
    contact_id: str,
    zone: ZoneInfo,
    call_id: int | None = None,
    caller_name: str = "",
) -> TextMessage | None:
    """After the assistant booked, moved or cancelled an appointment: one text to the caller, once per `cause`
    (the tool call that made the change), sent in the background."""
    settings = messaging_settings_for(client=ClientAccount.objects.get(pk=client_id))
    if not settings.confirmations_enabled or not appointment_id:
        return None
    booking = Booking.objects.filter(client_id=client_id, ghl_appointment_id=appointment_id).first()
    body = appointment_text(settings=settings, kind=kind, service=service, start=start, zone=zone, name=caller_name)
    message, created = text_message_create(
        client_id=client_id,
        booking=booking,
        call_id=call_id,
        appointment_id=appointment_id,
        contact_id=contact_id,
        kind=kind,
        change_version=cause[:120],
        appointment_start=start,
        send_at=timezone.now(),
        body=body,
    )
    if created:
        transaction.on_commit(lambda: tasks.text_message_send_task.delay(message.pk))
    return message


def _finish(message: TextMessage, *, status: str, detail: str = "", **fields) -> None:
    fields = {"status": status, "detail": detail[:300], **fields}
    TextMessage.objects.filter(pk=message.pk).update(**fields)


def _reminder_is_stale(message: TextMessage, now: datetime) -> str:
    """Why a reminder must not go out any more: the appointment was cancelled or moved since it was planned."""
    booking = message.booking
    if booking is None or booking.status not in STANDING_BOOKING_STATUSES:
        return "Cancelled: the appointment no longer stands"
    if booking.start != message.appointment_start:
        return "Moved: reminders follow the new time"
    if booking.start <= now:
        return "Too late: the appointment has started"
    return ""


def text_message_send(*, message_id: int, now: datetime | None = None) -> str:
    """Sends the text if this worker claims it first; returns the status it ended in (or "" when not claimed)."""
    claimed = TextMessage.objects.filter(pk=message_id, status=TextMessageStatus.PENDING)
    if not claimed.update(status=TextMessageStatus.SENDING):
        return ""
    message = TextMessage.objects.select_related("booking").get(pk=message_id)
    stale = _reminder_is_stale(message, now or timezone.now()) if message.kind == TextMessageKind.REMINDER else ""
    if stale or not message.contact_id:
        _finish(message, status=TextMessageStatus.SKIPPED, detail=stale or "No GHL contact to text")
        return TextMessageStatus.SKIPPED
    try:
        with ghl_client_for(client_id=message.client_id, deadline_seconds=30) as ghl:
            contact = ghl.get_contact(contact_id=message.contact_id).get("contact") or {}
            sms_dnd = ((contact.get("dndSettings") or {}).get("SMS") or {}).get("status")
            if contact.get("dnd") or sms_dnd in ("active", "permanent"):
                _finish(message, status=TextMessageStatus.SKIPPED, detail=SKIPPED_DND)
                return TextMessageStatus.SKIPPED
            sent = ghl.send_sms(
                contact_id=message.contact_id, message=message.body, appointment_id=message.appointment_id
            )
    except GhlContactDnd:
        _finish(message, status=TextMessageStatus.SKIPPED, detail=SKIPPED_DND)
        return TextMessageStatus.SKIPPED
    except ProviderError as exc:  # GhlNotConnectedError included
        # Not retried: after a timeout GHL may have sent it, and a caller must never get it twice.
        logger.warning("Text %s to contact %s failed: %s", message.pk, message.contact_id, exc)
        _finish(message, status=TextMessageStatus.FAILED, detail=exc.message)
        return TextMessageStatus.FAILED
    _finish(
        message, status=TextMessageStatus.SENT, ghl_message_id=sent.get("messageId", ""), sent_at=now or timezone.now()
    )
    return TextMessageStatus.SENT
