"""Creating an assistant in Vapi exactly once: one push at a time creates (a claim on the row), and an
assistant an earlier create made though its answer was lost is found and adopted, not made again (DESIGN.md
"When the world misbehaves")."""

import logging
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from integrations.vapi.errors import VapiError, VapiOutcomeUnknown
from voice.assistants.payload import assistant_payload
from voice.models import Assistant, SyncStatus

logger = logging.getLogger(__name__)


# Vapi's clock and ours may differ: the search for an assistant we created looks back this much further.
VAPI_CLOCK_MARGIN = timedelta(hours=1)
# Enough to find ours among every assistant an org created since this one was saved.
VAPI_SEARCH_LIMIT = 1000


def _vapi_assistant_ours(vapi, assistant: Assistant) -> dict | None:
    """The assistant an earlier create made in Vapi though its answer was lost, found by the metadata every
    push sends (`assistantId`, our public id) among those created since this one was saved; the oldest wins."""
    listed = vapi.list_assistants(limit=VAPI_SEARCH_LIMIT, created_at_gt=assistant.created_at - VAPI_CLOCK_MARGIN)
    marker = {"assistantId": str(assistant.public_id), "agencyId": str(assistant.client.agency.public_id)}
    ours = [
        found
        for found in (listed if isinstance(listed, list) else [])
        if isinstance(found, dict)
        and isinstance(found.get("metadata"), dict)
        and all(found["metadata"].get(key) == value for key, value in marker.items())
    ]
    return min(ours, key=lambda found: str(found.get("createdAt") or ""), default=None)


def vapi_assistant_create(vapi, assistant: Assistant) -> None:
    """Creates the assistant in Vapi once: one a lost answer may have made is adopted instead of made again.
    When Vapi's answer is lost and the assistant cannot be found yet, the push stays pending for the sweep."""
    payload = assistant_payload(assistant=assistant)
    found = _vapi_assistant_ours(vapi, assistant)
    if found is None:
        try:
            found = vapi.create_assistant(payload=payload)
            assistant.vapi_id = found["id"]
            return
        except VapiOutcomeUnknown as lost:
            logger.warning(
                "Vapi's answer to creating assistant %s was lost (%s); looking it up", assistant.public_id, lost
            )
            try:
                found = _vapi_assistant_ours(vapi, assistant)
            except VapiError as exc:
                raise lost from exc
            if found is None:
                raise
    assistant.vapi_id = found["id"]
    logger.info("Assistant %s adopted Vapi assistant %s an earlier push created", assistant.public_id, found["id"])
    vapi.update_assistant(assistant_id=found["id"], payload=payload)


# A push that died while creating (worker killed) holds the claim no longer than this; the next one looks first.
VAPI_CREATE_CLAIM_EXPIRY = timedelta(minutes=5)


def vapi_create_claim(assistant: Assistant) -> datetime | None:
    """Claims the creation of this not-yet-created assistant in Vapi (one conditional UPDATE, so of two pushes
    at the same moment exactly one wins); the claim's time, or None when another push holds it."""
    now = timezone.now()
    free = Q(vapi_create_claimed_at__isnull=True) | Q(vapi_create_claimed_at__lt=now - VAPI_CREATE_CLAIM_EXPIRY)
    won = Assistant.objects.filter(free, pk=assistant.pk, vapi_id="").update(vapi_create_claimed_at=now)
    return now if won else None


def vapi_create_release(assistant: Assistant, claim: datetime, requested_at: datetime) -> None:
    """Lets go of the claim; a push asked for while this one was creating may have found the claim taken
    and stopped, so the assistant stays pending for the sweep to push what staff typed meanwhile."""
    Assistant.objects.filter(pk=assistant.pk, vapi_create_claimed_at=claim).update(vapi_create_claimed_at=None)
    meanwhile = Assistant.objects.filter(pk=assistant.pk, sync_status=SyncStatus.SYNCED).exclude(
        push_requested_at=requested_at
    )
    if meanwhile.update(sync_status=SyncStatus.PENDING):
        assistant.sync_status = SyncStatus.PENDING
