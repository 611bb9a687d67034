"""The webhook inbox: verify -> store -> answer -> process (DESIGN.md "Webhook inbox").

Endpoints call `webhook_store` once a request is verified (its row's INSERT: integrations.stored); it "kicks" the
workers (at most one Celery message per KICK_SECONDS across all web processes, each process asking the shared gate
at most every KICK_TRUSTED_SECONDS), and a worker's drain task claims stored events in batches (`webhook_drain`: one
`SELECT ... FOR UPDATE SKIP LOCKED` per batch, one commit per batch) and runs the handlers that higher apps registered
in their `AppConfig.ready()` through `register_handler`. `webhook_process` runs one event (replays, the sweeper's
retries). Pages read the inbox through integrations.selectors."""

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from agencyhub.enqueue import enqueue, enqueue_batches
from agencyhub.memo import memo_scope
from agencyhub.observability import log_context
from integrations import tasks
from tenants.models import Agency, ClientAccount
from tenants.selectors import tenants_attached

from .models import WebhookEvent, WebhookStatus
from .redaction import webhook_body_stored, webhook_headers_for_storage
from .stored import ConditionGone, StoredIf, event_inserted

logger = logging.getLogger(__name__)

Handler = Callable[[WebhookEvent], None]
# Given a batch's events of its provider (in order), runs those it can together and returns them.
BatchHandler = Callable[[list[WebhookEvent]], list[WebhookEvent]]

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)
# Fresh rows are enqueued on commit; the sweeper only picks up those whose enqueue was lost.
RECEIVED_GRACE = timedelta(minutes=2)
SWEEP_BATCH = 500
# Events one drain claims (and commits) at once: one claim and one commit per batch instead of three
# commits per event, while one event's row locks (its Call) are held for a batch's time at most (~0.5 s).
DRAIN_BATCH = 50
# A drain task hands over to a fresh one after this long, so other tasks (notes, slot warms) get a worker.
DRAIN_SECONDS = 10.0
# At most one drain task is published per this many seconds by all web processes together (a cache gate).
KICK_KEY = "webhook-inbox:kick"
KICK_SECONDS = 1
# A web process trusts its last asking of the gate this long (webhook_kick): a burst asks Redis only a few times a
# second per process instead of once per event. A drain that finds the inbox empty has it looked at again once this
# long has passed, twice over (webhook_drain): the margin covers clocks of worker machines that disagree a little
# (a countdown is due by the clock of the worker that holds it).
KICK_TRUSTED_SECONDS = 0.25
_handlers: dict[tuple[str, str], list[Handler]] = defaultdict(list)
_batch_handlers: dict[str, tuple[BatchHandler, Handler]] = {}


ANY_TYPE = "*"


def register_handler(provider: str, event_type: str, handler: Handler) -> None:
    """Subscribes `handler(event)` to one provider's event type (or ANY_TYPE); handlers must be idempotent."""
    handlers = _handlers[(provider, event_type)]
    if handler not in handlers:
        handlers.append(handler)


def register_batch_handler(provider: str, batch_handler: BatchHandler, *, replaces: Handler) -> None:
    """Lets a drained batch run many of one provider's events in one go: `batch_handler(events)` is given the
    batch's events whose only registered handler is `replaces` (in claim order), does for those it returns
    exactly what `replaces` would do for each, and leaves the rest to run one by one after it. It runs in one
    savepoint: if it raises, its writes are rolled back and every event runs alone, each in its own savepoint,
    so a poisoned event still fails by itself."""
    _batch_handlers[provider] = (batch_handler, replaces)


def webhook_store(
    *,
    provider: str,
    event_type: str,
    unique_key: str,
    body: dict,
    headers: dict,
    agency: Agency | None = None,
    client: ClientAccount | None = None,
    only_if: StoredIf | None = None,
) -> tuple[WebhookEvent, bool]:
    """Stores a verified event once; a repeat delivery returns the stored row and does nothing else. With `only_if`,
    stores (or finds) it only while that row is there: ConditionGone, with nothing stored, when it is not."""
    if client is not None and agency is None:
        agency = client.agency
    stored_body = webhook_body_stored(body=body)
    event = WebhookEvent(
        provider=provider,
        unique_key=unique_key,
        event_type=event_type,
        body=stored_body.value,
        headers=webhook_headers_for_storage(headers=headers),
        agency=agency,
        client=client,
    )
    if event_inserted(event, body=stored_body, only_if=only_if):
        transaction.on_commit(webhook_kick)
        return event, True
    if only_if is not None and not only_if.holds():
        raise ConditionGone(only_if.model.__name__)
    known = WebhookEvent.objects.get(provider=provider, unique_key=unique_key)
    if known.status == WebhookStatus.RECEIVED:
        # Its first kick may never have run: the INSERT committed but the connection died before its
        # answer, so the endpoint spooled the event or its sender retried. Claims are conditional, so a
        # second drain for a row already claimed does nothing.
        transaction.on_commit(webhook_kick)
    logger.info("Duplicate %s webhook %s not stored again (event %s, %s)", provider, unique_key, known.pk, known.status)
    return known, False


def webhook_kick() -> bool:
    """Asks the workers to drain the inbox: publishes a drain task unless one was published in the last KICK_SECONDS (a
    cache.add gate shared by every web process); True when it did. A cache that cannot be reached (add answers None)
    kicks every time; a broker that cannot be reached leaves the events to the sweeper.

    Nothing stored waits on a kick the gate refused, nor on one a process did not even ask for, having asked less
    than KICK_TRUSTED_SECONDS ago (a burst costs Redis a few commands a second per process, not one per event): that
    asking either published a drain or found the gate closed, which no drain had opened since it was closed; so some
    drain opens the gate after it and has the inbox looked at again once KICK_TRUSTED_SECONDS have passed
    (`webhook_drain`), after the commit of any event stored meanwhile. Only with workers elsewhere: where tasks run
    in place (eager, tests), every store asks."""
    global _kick_asked
    trusted = _kick_trusted_seconds()
    asked = time.monotonic()
    if asked - _kick_asked < trusted:
        return False
    _kick_asked = asked
    if cache.add(KICK_KEY, 1, KICK_SECONDS) is False:
        return False
    return enqueue(tasks.webhook_drain_task)


# When this process last asked the kick gate (time.monotonic()).
_kick_asked = float("-inf")


def _kick_trusted_seconds() -> float:
    """How long a process trusts its last kick: KICK_TRUSTED_SECONDS with workers elsewhere; none where tasks run in
    place (the kicked drain has run already, and nothing needs looking at again later)."""
    return 0.0 if settings.CELERY_TASK_ALWAYS_EAGER else KICK_TRUSTED_SECONDS


def _stale_claim_before(now):
    """Claims older than this belong to a dead worker (settings.WEBHOOK_STALE_CLAIM_SECONDS)."""
    return now - timedelta(seconds=settings.WEBHOOK_STALE_CLAIM_SECONDS)


def _claimable(now, claim: str) -> Q:
    """New events, retries that are due, dead workers' claims, and (for a retried task) its own claim."""
    claimable = (
        Q(status=WebhookStatus.RECEIVED)
        | Q(status=WebhookStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=WebhookStatus.PROCESSING, claimed_at__lt=_stale_claim_before(now))
    )
    if claim:
        claimable |= Q(status=WebhookStatus.PROCESSING, claimed_by=claim)
    return claimable


def _claim_update(now, claim: str) -> dict:
    return {
        "status": WebhookStatus.PROCESSING,
        "attempts": F("attempts") + 1,
        "claimed_at": now,
        "claimed_by": claim,
        "next_attempt_at": None,
    }


def _handled(event: WebhookEvent) -> dict:
    """Runs the event's handlers in a transaction (a savepoint inside a batch's) and returns the outcome to
    record: a failing handler leaves no half-written rows behind, and the retry starts clean."""
    if event.agency is not None:
        log_context.bind(agency=event.agency.slug)
    handlers = [*_handlers.get((event.provider, event.event_type), ()), *_handlers.get((event.provider, ANY_TYPE), ())]
    if not handlers:
        return {"status": WebhookStatus.IGNORED, "processed_at": timezone.now(), "last_error": ""}
    try:
        with transaction.atomic():
            for handler in handlers:
                handler(event)
    except Exception as exc:  # any handler failure is recorded on the row, logged and retried: the inbox's job
        logger.exception(
            "Webhook event %s (%s %s, attempt %s) failed",
            event.pk,
            event.provider,
            event.event_type,
            event.attempts,
        )
        retry = event.attempts < MAX_ATTEMPTS
        return {
            "status": WebhookStatus.FAILED,
            "last_error": f"{type(exc).__name__}: {exc}"[:2000],
            "next_attempt_at": timezone.now() + _backoff(event.attempts) if retry else None,
        }
    return {"status": WebhookStatus.PROCESSED, "processed_at": timezone.now(), "last_error": ""}


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_CAP)


def webhook_process(*, event_id: int, claim: str = "") -> WebhookEvent | None:
    """Claims the event with a conditional UPDATE (so only one worker runs it) and runs its handlers.

    Returns the event as it stands afterwards (None if it no longer exists). An event another worker
    holds, or one already finished or not yet due, is left untouched. `claim` names the holder (the Celery
    task id): a retry of the same task whose database went away mid-event takes its own claim back at once
    instead of waiting for it to go stale.
    """
    now = timezone.now()
    claimed = WebhookEvent.objects.filter(_claimable(now, claim), pk=event_id).update(**_claim_update(now, claim))
    event = WebhookEvent.objects.select_related("agency", "client").filter(pk=event_id).first()
    if not claimed or event is None:
        return event
    outcome = _handled(event)
    # Only the holder of this claim records the outcome; a worker that re-claimed a stale row owns it now.
    # A handler that found the event's client (a Vapi call's) sets event.client_id; it is kept even on failure.
    WebhookEvent.objects.filter(pk=event.pk, claimed_at=now).update(**outcome, client_id=event.client_id)
    event.refresh_from_db()
    return event


def webhook_process_batch(
    *, claim: str, limit: int = DRAIN_BATCH, deadline: float | None = None, full: Callable[[], object] | None = None
) -> int:
    """Claims up to `limit` due events at once and runs each; returns how many it claimed.

    The claim is one short transaction (`SELECT ... FOR UPDATE SKIP LOCKED`, then one UPDATE): two workers
    never claim the same row, and neither waits on the other's. It commits before any handler runs, so a
    worker that dies mid-batch leaves PROCESSING rows that go stale and are claimed again (or that its
    retried task, named by `claim`, takes back at once). The events then run in one transaction with a
    savepoint each: a failing handler rolls back its own writes only and its event is recorded FAILED
    (retried with backoff) beside its neighbours' outcomes, and the whole batch's work and outcomes commit
    together, so a database lost mid-batch leaves nothing half written and nothing marked done. A provider's
    batch handler (register_batch_handler: Vapi's end-of-call reports) first runs the events it can together
    in one savepoint, falling back to one savepoint each when it raises; all outcomes go in one UPDATE. Past
    `deadline` (time.monotonic()), the events not yet run are handed back unclaimed, so slow handlers (a GHL
    install mints a token) never stretch a batch towards the task's time limit. `full` is called once a full batch
    is claimed, before its events run (the drain kicks another worker then)."""
    now = timezone.now()
    with transaction.atomic():
        events = list(
            WebhookEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_claimable(now, claim))
            .order_by("pk")[:limit]
        )
        if not events:
            return 0
        WebhookEvent.objects.filter(pk__in=[event.pk for event in events]).update(**_claim_update(now, claim))
    if full is not None and len(events) >= limit:
        full()
    tenants_attached(events)
    for event in events:
        event.status, event.attempts, event.claimed_at, event.claimed_by = (
            WebhookStatus.PROCESSING,
            event.attempts + 1,
            now,
            claim,
        )
    with enqueue_batches(), memo_scope(), transaction.atomic():
        together = _handled_together(events)
        outcomes: dict[int, dict] = {}  # event id -> outcome: all recorded in one UPDATE
        ran = 0
        for event in events:
            if event.pk in together:
                continue
            if (ran or together) and deadline is not None and time.monotonic() >= deadline:
                break
            outcomes[event.pk] = _handled(event)
            ran += 1
        unrun = [e.pk for e in events if e.pk not in together and e.pk not in outcomes]
        if unrun:
            WebhookEvent.objects.filter(pk__in=unrun, claimed_at=now, claimed_by=claim).update(
                status=WebhookStatus.RECEIVED, attempts=F("attempts") - 1, claimed_at=None, claimed_by=""
            )
        finished = timezone.now()
        for pk in together:
            outcomes[pk] = {"status": WebhookStatus.PROCESSED, "processed_at": finished, "last_error": ""}
        client_ids = {event.pk: event.client_id for event in events if event.pk in outcomes}
        _outcome_record(outcomes, now=now, claim=claim, client_ids=client_ids)
    return len(events) - len(unrun)


def _handled_together(events: list[WebhookEvent]) -> set[int]:
    """Ids of the events the providers' batch handlers ran (register_batch_handler); the rest run one by one.
    A batch handler that raises keeps nothing: its savepoint is rolled back and its events run alone."""
    together: set[int] = set()
    for provider, (batch_handler, replaces) in _batch_handlers.items():
        mine = [
            e
            for e in events
            if e.provider == provider
            and [*_handlers.get((provider, e.event_type), ()), *_handlers.get((provider, ANY_TYPE), ())] == [replaces]
        ]
        if not mine:
            continue
        client_ids = {e.pk: e.client_id for e in mine}
        try:
            with transaction.atomic():
                ran = batch_handler(mine)
        except Exception:  # every event runs alone next, where a failure is recorded on its row
            logger.warning("Batch of %s %s events failed; each runs alone", len(mine), provider, exc_info=True)
            for event in mine:
                event.client_id = client_ids[event.pk]
            continue
        together.update(event.pk for event in ran)
    return together


def _outcome_record(outcomes: dict[int, dict], *, now, claim: str, client_ids: dict[int, int | None]) -> None:
    """Records a batch's outcomes in one UPDATE (each field a CASE over the ids that differ), and only where the
    batch still holds the claim (as in webhook_process). A handler that found an event's client (a Vapi call's)
    set its client_id, kept even on failure."""
    if not outcomes:
        return
    columns: dict[str, dict] = defaultdict(lambda: defaultdict(list))  # field -> value -> ids
    for pk, outcome in outcomes.items():
        for name, value in {**outcome, "client_id": client_ids.get(pk)}.items():
            columns[name][value].append(pk)
    updates = {}
    for name, by_value in columns.items():
        field = WebhookEvent._meta.get_field(name)
        if len(by_value) == 1 and len(next(iter(by_value.values()))) == len(outcomes):
            updates[field.attname] = Value(next(iter(by_value)), output_field=field)
            continue
        whens = [When(pk__in=ids, then=Value(value, output_field=field)) for value, ids in by_value.items()]
        updates[field.attname] = Case(*whens, default=F(field.attname), output_field=field)
    WebhookEvent.objects.filter(pk__in=list(outcomes), claimed_at=now, claimed_by=claim).update(**updates)


def webhook_drain(*, claim: str, batch: int = DRAIN_BATCH, seconds: float = DRAIN_SECONDS, again: bool = False) -> int:
    """Processes due events batch after batch until none is left or `seconds` have passed; returns how many.

    A full batch means more may wait: another drain is kicked as soon as it is claimed, so a second worker joins a
    burst. Finding none, the drain opens the kick gate, looks once more (an event stored while the gate was closed
    committed before that look: its kick came after its commit) and publishes the look again of `again`, due twice
    KICK_TRUSTED_SECONDS later: an event stored by a process that trusted its last kick (webhook_kick) has committed
    by then, and one stored after the gate opened kicks again. Its worker meanwhile runs what is queued (follow-ups)
    instead of waiting. A look again that finds nothing stops there; one that finds events drains them as any drain
    does. Out of time with work left, a drain queues its successor (behind the tasks that waited meanwhile)."""
    deadline = time.monotonic() + seconds
    # Where tasks run in place, a kicked drain would only run inside this one: this one drains on instead.
    full = None if settings.CELERY_TASK_ALWAYS_EAGER else webhook_kick
    drained = 0
    while True:
        claimed = webhook_process_batch(claim=claim, limit=batch, deadline=deadline, full=full)
        if not claimed:
            if again and not drained:
                return 0
            cache.delete(KICK_KEY)
            claimed = webhook_process_batch(claim=claim, limit=batch, deadline=deadline, full=full)
            if not claimed:
                if trusted := _kick_trusted_seconds():
                    enqueue(tasks.webhook_drain_task, True, countdown=2 * trusted)
                return drained
        drained += claimed
        if time.monotonic() >= deadline:
            enqueue(tasks.webhook_drain_task)
            return drained


def webhook_replay(*, event: WebhookEvent) -> WebhookEvent | None:
    """Puts an event back in the queue and processes it now, whatever its past outcome.

    Returns None when another worker is processing it right now.
    """
    reset = (
        WebhookEvent.objects.filter(pk=event.pk)
        .exclude(status=WebhookStatus.PROCESSING, claimed_at__gte=_stale_claim_before(timezone.now()))
        .update(status=WebhookStatus.RECEIVED, next_attempt_at=None, processed_at=None)
    )
    if not reset:
        return None
    return webhook_process(event_id=event.pk)


def webhook_events_due(*, limit: int = SWEEP_BATCH) -> list[int]:
    """Ids of events the sweeper must enqueue: never enqueued, due for a retry, or claimed by a dead worker."""
    now = timezone.now()
    due = (
        Q(status=WebhookStatus.RECEIVED, received_at__lt=now - RECEIVED_GRACE)
        | Q(status=WebhookStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=WebhookStatus.PROCESSING, claimed_at__lt=_stale_claim_before(now))
    )
    return list(WebhookEvent.objects.filter(due).order_by("received_at").values_list("pk", flat=True)[:limit])
