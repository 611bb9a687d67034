"""Workers claim inbox events in batches: exclusive claims, one event's failure kept to itself, stale and own
claims taken back, and a kick gate that never leaves a stored event waiting."""

import threading
from collections import Counter, defaultdict
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.utils import timezone

from integrations import inbox, tasks
from integrations.inbox import register_handler, webhook_drain, webhook_process_batch, webhook_store
from integrations.models import WebhookEvent, WebhookStatus
from tenants.models import ClientAccount
from tests.clock import FakeClock


@pytest.fixture(autouse=True)
def handlers(monkeypatch):
    """A clean registry per test, so the apps' real subscribers do not run here."""
    registry = defaultdict(list)
    monkeypatch.setattr(inbox, "_handlers", registry)
    return registry


def store(key, **extra):
    event, _ = webhook_store(
        provider="ghl",
        event_type="AppointmentCreate",
        unique_key=key,
        body={"type": "AppointmentCreate", "webhookId": key},
        headers={},
        **extra,
    )
    return event


def statuses(*events):
    return [WebhookEvent.objects.get(pk=e.pk).status for e in events]


@pytest.mark.django_db
def test_a_failing_event_in_a_batch_leaves_its_neighbours_processed_and_their_writes_kept(cast):
    events = [store(f"evt-{n}") for n in range(3)]

    def handler(event):
        ClientAccount.objects.create(agency=cast.agency, name=f"Client of {event.unique_key}", time_zone="UTC")
        if event.unique_key == "evt-1":
            raise ValueError("calendar not found")

    register_handler("ghl", "AppointmentCreate", handler)
    assert webhook_process_batch(claim="task-1", limit=10) == 3

    assert statuses(*events) == [WebhookStatus.PROCESSED, WebhookStatus.FAILED, WebhookStatus.PROCESSED]
    names = set(ClientAccount.objects.filter(name__startswith="Client of").values_list("name", flat=True))
    assert names == {"Client of evt-0", "Client of evt-2"}, "the failed event's own write is rolled back, no other"
    failed = WebhookEvent.objects.get(pk=events[1].pk)
    assert failed.last_error == "ValueError: calendar not found" and failed.next_attempt_at > timezone.now()
    assert [WebhookEvent.objects.get(pk=e.pk).attempts for e in events] == [1, 1, 1]


@pytest.mark.django_db
def test_a_drain_takes_batches_until_the_inbox_is_empty_and_runs_each_event_once():
    events = [store(f"evt-{n}") for n in range(7)]
    seen = []
    register_handler("ghl", "AppointmentCreate", lambda event: seen.append(event.pk))

    # A full batch kicks another drain (run in place here, Celery being eager in tests) to share the burst.
    webhook_drain(claim="task-1", batch=3)
    assert webhook_drain(claim="task-2", batch=3) == 0

    assert sorted(seen) == sorted(e.pk for e in events), "every event ran, once"
    assert set(statuses(*events)) == {WebhookStatus.PROCESSED}


@pytest.mark.django_db
def test_a_dead_workers_batch_claim_goes_stale_and_is_retaken_but_a_live_one_is_not():
    dead = [store(f"dead-{n}") for n in range(2)]
    live = store("live")
    long_ago = timezone.now() - timedelta(minutes=30)
    WebhookEvent.objects.filter(pk__in=[e.pk for e in dead]).update(
        status=WebhookStatus.PROCESSING, claimed_at=long_ago, claimed_by="dead-task", attempts=1
    )
    WebhookEvent.objects.filter(pk=live.pk).update(
        status=WebhookStatus.PROCESSING, claimed_at=timezone.now(), claimed_by="busy-task", attempts=1
    )
    seen = []
    register_handler("ghl", "AppointmentCreate", lambda event: seen.append(event.unique_key))

    assert webhook_drain(claim="task-2") == 2

    assert sorted(seen) == ["dead-0", "dead-1"]
    assert statuses(*dead, live) == [WebhookStatus.PROCESSED, WebhookStatus.PROCESSED, WebhookStatus.PROCESSING]
    assert [WebhookEvent.objects.get(pk=e.pk).attempts for e in dead] == [2, 2]


@pytest.mark.django_db
def test_a_batch_whose_database_went_away_keeps_nothing_and_its_retry_takes_the_claim_back(cast):
    """The outcome could not be written (the connection died): the batch's work is rolled back with it, the
    events stay claimed by the task, and the task's retry (same id) runs them at once; another task does not."""
    events = [store(f"evt-{n}") for n in range(2)]
    runs = Counter()

    def handler(event):
        runs[event.unique_key] += 1
        ClientAccount.objects.create(agency=cast.agency, name=f"Client of {event.unique_key}", time_zone="UTC")

    register_handler("ghl", "AppointmentCreate", handler)
    with (
        mock.patch.object(inbox, "_outcome_record", side_effect=OperationalError("server closed the connection")),
        pytest.raises(OperationalError),
    ):
        webhook_process_batch(claim="task-1")

    assert statuses(*events) == [WebhookStatus.PROCESSING] * 2
    assert not ClientAccount.objects.filter(name__startswith="Client of").exists(), "nothing half written"
    assert webhook_process_batch(claim="task-2") == 0, "a fresh claim of another task is left alone"
    assert webhook_process_batch(claim="task-1") == 2
    assert statuses(*events) == [WebhookStatus.PROCESSED] * 2
    assert ClientAccount.objects.filter(name__startswith="Client of").count() == 2


@pytest.mark.django_db
def test_storing_a_burst_publishes_one_drain_and_an_event_stored_behind_the_gate_is_still_processed(
    django_capture_on_commit_callbacks,
):
    seen = []
    register_handler("ghl", "AppointmentCreate", lambda event: seen.append(event.unique_key))
    with mock.patch.object(inbox, "enqueue") as enqueue, django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            store(f"evt-{n}")
    assert enqueue.call_count == 1, "one kick for the burst, not one task per event"

    # The drain ran and found the inbox empty while the gate was still closed; one more event arrives then.
    with mock.patch.object(inbox, "enqueue") as enqueue, django_capture_on_commit_callbacks(execute=True):
        store("evt-late")
    assert enqueue.call_count == 0
    assert webhook_drain(claim="task-1") == 6
    assert "evt-late" in seen

    # The drain opened the gate on its way out: the next event kicks again.
    assert cache.get(inbox.KICK_KEY) is None
    with mock.patch.object(inbox, "enqueue") as enqueue, django_capture_on_commit_callbacks(execute=True):
        store("evt-next")
    assert enqueue.call_count == 1


@pytest.fixture
def workers_elsewhere(settings, monkeypatch):
    """Tasks published to a broker for workers in other processes (not run in place, as elsewhere in the tests),
    on the inbox's own clock; nothing is published here (enqueue is a mock), and this process has not asked the
    kick gate yet."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    clock = FakeClock()
    monkeypatch.setattr(inbox, "time", clock)
    monkeypatch.setattr(inbox, "_kick_asked", float("-inf"))
    with mock.patch.object(inbox, "enqueue") as enqueue:
        yield clock, enqueue


@pytest.mark.django_db
def test_a_process_asks_the_kick_gate_once_per_kick_period_not_once_per_event(
    workers_elsewhere, django_capture_on_commit_callbacks
):
    clock, enqueue = workers_elsewhere
    with mock.patch.object(cache, "add", wraps=cache.add) as asked, django_capture_on_commit_callbacks(execute=True):
        for n in range(5):
            store(f"evt-{n}")
            clock.sleep(0.01)
    assert asked.call_count == 1 and enqueue.call_count == 1

    clock.sleep(inbox.KICK_TRUSTED_SECONDS)  # its last asking is no longer trusted
    with mock.patch.object(cache, "add", wraps=cache.add) as asked, django_capture_on_commit_callbacks(execute=True):
        store("evt-later")
    assert asked.call_count == 1, "asked again"


@pytest.mark.django_db
def test_a_drain_that_found_the_inbox_empty_has_what_a_process_stores_while_trusting_its_last_kick_claimed(
    workers_elsewhere, django_capture_on_commit_callbacks
):
    clock, enqueue = workers_elsewhere
    seen = []
    register_handler("ghl", "AppointmentCreate", lambda event: seen.append(event.unique_key))
    with django_capture_on_commit_callbacks(execute=True):
        store("evt-first")  # asks the gate: a drain is published (run below, as a worker would)
    assert enqueue.call_args_list == [mock.call(tasks.webhook_drain_task)]

    # The drain claims evt-first, finds the inbox empty, opens the gate, looks once more and returns at once, its
    # worker free for other tasks: the look again is published, due once this process's trust has run out.
    assert webhook_drain(claim="task-1") == 1
    assert enqueue.call_args_list[1:] == [mock.call(tasks.webhook_drain_task, True, countdown=mock.ANY)]
    assert enqueue.call_args_list[1].kwargs["countdown"] > inbox.KICK_TRUSTED_SECONDS
    # A moment later this process stores one more event and, having asked the gate a moment ago, publishes nothing.
    clock.sleep(0.1)
    with django_capture_on_commit_callbacks(execute=True):
        store("evt-while-trusted")
    assert enqueue.call_count == 2, "no kick: the process trusts its last one"

    assert webhook_drain(claim="task-2", again=True) == 1  # the look again, as a worker runs it once due
    assert seen == ["evt-first", "evt-while-trusted"]
    assert enqueue.call_count == 3, "having drained, it opened the gate and asked for a look again of its own"
    assert cache.get(inbox.KICK_KEY) is None


@pytest.mark.django_db
def test_a_look_again_that_finds_nothing_stops_there(workers_elsewhere):
    _, enqueue = workers_elsewhere
    with mock.patch.object(cache, "delete") as opened:
        assert webhook_drain(claim="task-2", again=True) == 0
    opened.assert_not_called()
    enqueue.assert_not_called()


@pytest.mark.django_db
def test_a_full_batch_kicks_another_worker_before_its_events_run(workers_elsewhere):
    _, enqueue = workers_elsewhere
    for n in range(3):
        store(f"evt-{n}")  # no kick: its commit is never seen here
    published_when_run = []
    register_handler("ghl", "AppointmentCreate", lambda event: published_when_run.append(enqueue.call_count))
    assert webhook_drain(claim="task-1", batch=2) == 3
    assert published_when_run == [1, 1, 1], "kicked once the first (full) batch was claimed; not for the second"
    assert enqueue.call_args_list[0] == mock.call(tasks.webhook_drain_task)


@pytest.mark.django_db
def test_where_tasks_run_in_place_an_empty_inbox_is_looked_at_once_more_and_nothing_is_published():
    with mock.patch.object(inbox, "enqueue") as enqueue, mock.patch.object(inbox, "webhook_process_batch") as look:
        look.return_value = 0
        assert webhook_drain(claim="task-1") == 0
    assert look.call_count == 2
    enqueue.assert_not_called()


@pytest.mark.django_db(transaction=True)
def test_two_workers_draining_at_once_never_run_the_same_event(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent connections and SKIP LOCKED")
    monkeypatch.setattr(inbox, "webhook_kick", mock.Mock())  # the two workers below are the only ones
    events = [store(f"evt-{n}") for n in range(40)]
    runs, firsts = Counter(), set()
    lock = threading.Lock()
    # Each worker's first event waits until the other worker is inside a batch too: both hold claims at once.
    both_busy = threading.Barrier(2)

    def handler(event):
        with lock:
            runs[event.pk] += 1
            first = threading.get_ident() not in firsts
            firsts.add(threading.get_ident())
        if first:
            both_busy.wait(timeout=20)

    register_handler("ghl", "AppointmentCreate", handler)
    start_line = threading.Barrier(2)
    drained, crashes = [], []

    def worker(claim):
        try:
            start_line.wait(timeout=20)
            drained.append(webhook_drain(claim=claim, batch=5))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            crashes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(f"task-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert crashes == []
    assert sum(drained) == 40 and all(drained), "both workers took batches, at the same time"
    assert set(runs.values()) == {1} and len(runs) == 40, "every event ran exactly once"
    assert set(statuses(*events)) == {WebhookStatus.PROCESSED}


@pytest.mark.django_db
def test_a_batch_out_of_time_hands_back_the_events_it_did_not_run():
    """Slow handlers (a GHL install mints a token) must not stretch a batch towards the task's time limit."""
    events = [store(f"evt-{n}") for n in range(3)]
    seen = []
    register_handler("ghl", "AppointmentCreate", lambda event: seen.append(event.unique_key))

    assert webhook_process_batch(claim="task-1", deadline=0.0) == 1, "one event runs, whatever the clock says"

    assert seen == ["evt-0"]
    assert statuses(*events) == [WebhookStatus.PROCESSED, WebhookStatus.RECEIVED, WebhookStatus.RECEIVED]
    assert [WebhookEvent.objects.get(pk=e.pk).attempts for e in events] == [1, 0, 0]
    assert webhook_drain(claim="task-2") == 2
    assert seen == ["evt-0", "evt-1", "evt-2"]
