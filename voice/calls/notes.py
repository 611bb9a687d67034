from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from integrations.ghl.errors import GhlNotConnectedError
from integrations.ghl.tokens import ghl_client_for
from voice.models import Call


def call_page_url(call: Call) -> str:
    return settings.PUBLIC_BASE_URL + reverse("call_detail", args=[call.agency.slug, call.public_id])


def call_note_add(*, call_id: int) -> bool:
    """Adds the call's summary and a link to its page to the caller's GHL contact, once."""
    call = Call.objects.select_related("agency", "client").filter(pk=call_id).first()
    if call is None or call.note_added_at or not call.summary or call.client is None:
        return False
    booking = call.bookings.exclude(ghl_contact_id="").first()
    try:
        with ghl_client_for(client_id=call.client_id, deadline_seconds=30) as ghl:
            contact_id = booking.ghl_contact_id if booking else ""
            if not contact_id and call.caller_number:
                found = ghl.find_contact_by_phone(location_id=ghl.location_id, phone=call.caller_number)
                contact_id = (found.get("contact") or {}).get("id", "")
            if not contact_id:
                return False
            minutes = timedelta(seconds=call.duration_seconds or 0)
            ghl.add_contact_note(
                contact_id=contact_id,
                body=f"AI receptionist call ({minutes}): {call.summary}\n\n"
                f"Transcript and recording: {call_page_url(call)}",
            )
    except GhlNotConnectedError:
        return False  # no GHL to write to; retrying would not connect it
    Call.objects.filter(pk=call.pk).update(note_added_at=timezone.now())
    return True
