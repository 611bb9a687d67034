"""The call start: Vapi's assistant-request, answered with the called number's assistant and the caller context
(voice.live.caller) as its variables; the call's row queued with the tool-call records; the number's calendars
warmed in the background (voice.live.slots) so the call's first availability answer need not wait on GHL."""

import logging

from django.core.cache import cache
from django.db import connection, transaction

from agencyhub.enqueue import enqueue
from integrations.clock import clock_now
from integrations.vapi.messages import message_call, message_call_id, message_caller_number
from tenants.models import Agency
from voice.calls.services import call_first_seen
from voice.live.cacheround import cache_round
from voice.live.caller import (
    CLAIM_SECONDS,
    UNREAD,
    caller_context_claim_key,
    caller_context_variables,
    caller_facts,
    caller_facts_key,
)
from voice.live.records import call_start_queue
from voice.live.services import DATABASE_UNREACHABLE, UNAVAILABLE
from voice.live.setup import (
    AgencyAuth,
    AssistantSetup,
    assistant_setup_build,
    number_assistant_recall,
    number_assistant_remember,
    number_setup_keep,
    number_setup_known,
)
from voice.models import PhoneNumber

logger = logging.getLogger(__name__)


UNKNOWN_NUMBER = "Sorry, this number is not set up to take calls yet. Please try again later."


def assistant_request_answer(*, agency: Agency, message: dict, auth: AgencyAuth | None = None) -> dict:
    """The assistant assigned to the called number with the caller context as its variables, or an error the
    caller hears (Vapi allows 7.5 s; the GHL part of the context has its own budget, voice.live.caller).

    With the agency's `auth` (its generation just checked against the cache), the number's answer is read
    like a tool call's setup: from this process's memory or the cache, the database only after a change.
    While the database is unreachable the number's last known assistant is answered from the cache, with
    the context that needs no database (a caller looked up in the last minutes, the date, the hours)."""
    phone = message.get("phoneNumber") if isinstance(message.get("phoneNumber"), dict) else {}
    phone_id = message_call(message).get("phoneNumberId") or phone.get("id")
    references = [str(ref) for ref in (phone_id, phone.get("number")) if ref]
    try:
        known = number_setup_known(auth=auth, references=references) if auth is not None and references else None
        if known is None:
            numbers = PhoneNumber.objects.filter(agency=agency, assistant__isnull=False).select_related(
                "assistant__client"
            )
            number = (phone_id and numbers.filter(vapi_id=phone_id).first()) or (
                phone.get("number") and numbers.filter(number=phone["number"]).first()
            )
            if not number or not number.assistant.vapi_id:
                logger.warning("assistant-request for an unassigned number %s", phone_id or phone.get("number"))
                return {"error": UNKNOWN_NUMBER}
            known = (number.assistant.vapi_id, assistant_setup_build(number.assistant))
            number_assistant_remember(agency_id=agency.pk, references=references, vapi_id=known[0], setup=known[1])
            if auth is not None:
                number_setup_keep(auth=auth, references=references, known=known)
        vapi_id, setup = known
        _call_started(agency=agency, message=message, setup=setup)
    except DATABASE_UNREACHABLE:
        vapi_id, setup = number_assistant_recall(agency_id=agency.pk, references=references)
        logger.warning("Database unreachable: assistant-request answered from the cache (%s)", vapi_id or "miss")
        if not vapi_id:
            return {"error": UNAVAILABLE}
        return _with_caller_context({"assistantId": vapi_id}, setup=setup, message=message, ask_ghl=False)
    # In autocommit (a real request) the call is committed already: the warm's queue claim joins the caller
    # context's cache round trip. Inside a transaction (a simulated call) it waits for the commit.
    warm = not connection.in_atomic_block
    if not warm:
        transaction.on_commit(lambda: slots_warm_enqueue(setup.assistant_id))
    return _with_caller_context({"assistantId": vapi_id}, setup=setup, message=message, warm=warm)


def _call_started(*, agency: Agency, message: dict, setup: AssistantSetup) -> None:
    """The call is stored from the queue the tool-call records take (records.call_start_queue), so a known
    number's assistant-request touches no database; without a queue, or with Redis refusing, it is stored at
    once (an INSERT, which also tells an unreachable database: the answer then comes from the cache)."""
    ids = {"assistant_id": setup.assistant_id, "client_id": setup.client_id}
    call_id = message_call_id(message)
    if call_id and call_start_queue(
        agency_id=agency.pk, vapi_call_id=call_id, caller=message_caller_number(message), **ids
    ):
        return
    call_first_seen(agency=agency, message=message, **ids)


def _with_caller_context(
    answer: dict, *, setup: AssistantSetup | None, message: dict, ask_ghl: bool = True, warm: bool = False
) -> dict:
    """The answer with `assistantOverrides.variableValues` (Vapi's AssistantOverrides), when the setup is known.

    The cached caller, the claim of the call's one telling of the context (given at the start: the call's tool
    answers need not repeat it) and, with `warm`, the slots warm's queue claim (slots_warm_enqueue) are one
    round trip to the cache."""
    if setup is None:
        return answer
    caller, call_id = message_caller_number(message), message_call_id(message)
    facts_key = caller_facts_key(setup=setup, caller=caller)
    adds = [(_warm_queued_key(setup.assistant_id), 1, WARM_QUEUE_SECONDS)] if warm else []
    if call_id:
        adds.append((caller_context_claim_key(client_id=setup.client_id, call_id=call_id), 1, CLAIM_SECONDS))
    values, added = cache_round(gets=[facts_key] if facts_key else [], adds=adds)
    if warm and added[0]:
        _slots_warm_queue(setup.assistant_id)
    facts = caller_facts(
        setup=setup, caller=caller, call_id=call_id, ask_ghl=ask_ghl, cached=values[0] if facts_key else UNREAD
    )
    variables = caller_context_variables(setup=setup, facts=facts, now=clock_now())
    return {**answer, "assistantOverrides": {"variableValues": variables}}


WARM_QUEUE_SECONDS = 30


def slots_warm_enqueue(assistant_id: int) -> None:
    """Warms the assistant's calendars in the background: at most one queued warm per assistant in
    WARM_QUEUE_SECONDS, so a burst of call starts does not flood the queue (the warm itself is
    single-flight per calendar). Dropped when the broker or the cache is down: an optimisation."""
    if cache.add(_warm_queued_key(assistant_id), 1, timeout=WARM_QUEUE_SECONDS):
        _slots_warm_queue(assistant_id)


def _warm_queued_key(assistant_id: int) -> str:
    return f"slots:warm-queued:{assistant_id}"


def _slots_warm_queue(assistant_id: int) -> None:
    from voice.live.tasks import slots_warm_task

    enqueue(slots_warm_task, assistant_id)
