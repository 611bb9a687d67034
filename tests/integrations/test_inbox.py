"""The webhook inbox: stored before processing, one run per claim, retries with backoff, sweeper, replay, page."""

import json
from collections import defaultdict
from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from integrations import inbox, redaction
from integrations.inbox import register_handler, webhook_process, webhook_store
from integrations.models import WebhookEvent, WebhookStatus
from integrations.tasks import webhook_sweep_task
from tenants.models import ClientAccount

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def handlers(monkeypatch):
    """A clean registry per test, so the apps' real subscribers do not run here."""
    registry = defaultdict(list)
    monkeypatch.setattr(inbox, "_handlers", registry)
    return registry


def store(key="evt-1", event_type="AppointmentCreate", **extra):
    return webhook_store(
        provider="ghl",
        event_type=event_type,
        unique_key=key,
        body={"type": event_type, "webhookId": key},
        headers={"Content-Type": "application/json"},
        **extra,
    )


class FlakyHandler:
    """Fails the first `failures` calls, then succeeds; remembers which events it saw."""

    def __init__(self, failures=0):
        self.failures = failures
        self.calls = []

    def __call__(self, event):
        self.calls.append(event.pk)
        if len(self.calls) <= self.failures:
            raise RuntimeError("GHL said 502 Bad Gateway")


def make_due(event):
    WebhookEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_event_is_stored_before_a_failing_handler_and_a_later_retry_succeeds(django_capture_on_commit_callbacks):
    handler = FlakyHandler(failures=1)
    register_handler("ghl", "AppointmentCreate", handler)

    with django_capture_on_commit_callbacks(execute=True):
        event, created = store()

    assert created
    event.refresh_from_db()
    assert event.status == WebhookStatus.FAILED
    assert event.attempts == 1
    assert event.last_error == "RuntimeError: GHL said 502 Bad Gateway"
    assert event.next_attempt_at > timezone.now()

    assert webhook_sweep_task() == 0, "a retry that is not due yet waits"
    make_due(event)
    assert webhook_sweep_task() == 1

    event.refresh_from_db()
    assert event.status == WebhookStatus.PROCESSED
    assert event.attempts == 2
    assert event.last_error == ""
    assert event.processed_at is not None
    assert handler.calls == [event.pk, event.pk]


def test_retries_back_off_and_stop_after_the_last_attempt():
    register_handler("ghl", "AppointmentCreate", FlakyHandler(failures=100))
    event, _ = store()
    delays = []
    for _ in range(inbox.MAX_ATTEMPTS):
        make_due(event)
        before = timezone.now()
        event = webhook_process(event_id=event.pk)
        if event.next_attempt_at:
            delays.append(event.next_attempt_at - before)

    assert event.status == WebhookStatus.FAILED
    assert event.attempts == inbox.MAX_ATTEMPTS
    assert event.next_attempt_at is None, "no more automatic retries after the last attempt"
    assert delays == sorted(delays) and delays[1] > delays[0]
    assert webhook_sweep_task() == 0


def test_a_failed_handler_leaves_no_half_written_rows(cast):
    def handler(event):
        ClientAccount.objects.create(agency=cast.agency, name="Half written", time_zone="UTC")
        raise ValueError("calendar not found")

    register_handler("ghl", "AppointmentCreate", handler)
    event, _ = store()
    event = webhook_process(event_id=event.pk)

    assert event.status == WebhookStatus.FAILED
    assert not ClientAccount.objects.filter(name="Half written").exists()


def test_duplicate_returns_the_stored_row_and_enqueues_nothing(django_capture_on_commit_callbacks):
    handler = FlakyHandler()
    register_handler("ghl", "AppointmentCreate", handler)
    with django_capture_on_commit_callbacks(execute=True) as first:
        original, created = store()
    with django_capture_on_commit_callbacks(execute=True) as second:
        again, created_again = store()

    assert created and not created_again
    assert again.pk == original.pk
    assert len(first) == 1 and len(second) == 0
    assert handler.calls == [original.pk]
    assert WebhookEvent.objects.count() == 1


def test_a_repeat_of_an_event_stored_but_never_queued_gets_it_processed(django_capture_on_commit_callbacks):
    """The INSERT committed but the connection died before its answer: the endpoint spooled the event (or
    the sender retried), and the repeat must not leave the stored row waiting for the sweeper."""
    handler = FlakyHandler()
    register_handler("ghl", "AppointmentCreate", handler)
    with django_capture_on_commit_callbacks(execute=False):  # the enqueue that never ran
        original, _ = store()
    with django_capture_on_commit_callbacks(execute=True) as repeat:
        again, created_again = store()

    assert not created_again and again.pk == original.pk
    assert len(repeat) == 1 and handler.calls == [original.pk]
    assert WebhookEvent.objects.get().status == WebhookStatus.PROCESSED


def test_unknown_event_type_is_ignored_not_failed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event, _ = store(event_type="InvoicePaid")
    event.refresh_from_db()
    assert event.status == WebhookStatus.IGNORED
    assert event.last_error == ""
    assert webhook_sweep_task() == 0


def test_auth_secrets_in_headers_are_never_stored():
    event, _ = webhook_store(
        provider="vapi",
        event_type="end-of-call-report",
        unique_key="call-1:end-of-call-report:1",
        body={},
        headers={"Authorization": "Bearer s3cret", "X-Vapi-Secret": "s3cret", "Content-Type": "application/json"},
    )
    event.refresh_from_db()
    assert event.headers == {"content-type": "application/json"}


def test_client_tenant_sets_the_agency(cast):
    event, _ = store(client=cast.client_account)
    assert event.agency == cast.agency


def test_a_second_processor_does_not_run_the_handler_while_the_first_holds_the_claim():
    runs = []

    def handler(event):
        runs.append(event.pk)
        # A second worker picks up the same event (sweeper, duplicate enqueue) while this one runs.
        webhook_process(event_id=event.pk)

    register_handler("ghl", "AppointmentCreate", handler)
    event, _ = store()
    event = webhook_process(event_id=event.pk)

    assert runs == [event.pk]
    assert event.status == WebhookStatus.PROCESSED
    assert event.attempts == 1


def test_processed_event_is_not_run_again():
    handler = FlakyHandler()
    register_handler("ghl", "AppointmentCreate", handler)
    event, _ = store()
    webhook_process(event_id=event.pk)
    webhook_process(event_id=event.pk)
    assert handler.calls == [event.pk]


def test_stale_processing_claim_is_taken_over_but_a_fresh_one_is_not():
    handler = FlakyHandler()
    register_handler("ghl", "AppointmentCreate", handler)
    fresh, _ = store("fresh")
    stale, _ = store("stale")
    WebhookEvent.objects.filter(pk=fresh.pk).update(status=WebhookStatus.PROCESSING, claimed_at=timezone.now())
    WebhookEvent.objects.filter(pk=stale.pk).update(
        status=WebhookStatus.PROCESSING, claimed_at=timezone.now() - timedelta(minutes=30), attempts=1
    )

    assert webhook_sweep_task() == 1

    assert handler.calls == [stale.pk]
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == WebhookStatus.PROCESSED and stale.attempts == 2
    assert fresh.status == WebhookStatus.PROCESSING


def test_a_retry_of_the_task_whose_database_went_away_takes_its_own_claim_back_at_once():
    """The database went away between the claim and the outcome: the task's retry (same task id) processes
    the row now; another task still leaves the fresh claim alone."""
    handler = FlakyHandler()
    register_handler("ghl", "AppointmentCreate", handler)
    event, _ = store()
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=WebhookStatus.PROCESSING, claimed_at=timezone.now(), claimed_by="task-1", attempts=1
    )

    assert webhook_process(event_id=event.pk, claim="task-2").status == WebhookStatus.PROCESSING
    assert handler.calls == []
    done = webhook_process(event_id=event.pk, claim="task-1")
    assert done.status == WebhookStatus.PROCESSED and done.attempts == 2 and handler.calls == [event.pk]


def test_sweeper_enqueues_events_whose_enqueue_was_lost_but_not_fresh_ones():
    handler = FlakyHandler()
    register_handler("ghl", "AppointmentCreate", handler)
    # Stored in a transaction whose on_commit never ran: nothing was enqueued.
    lost, _ = store("lost")
    fresh, _ = store("fresh")
    WebhookEvent.objects.filter(pk=lost.pk).update(received_at=timezone.now() - timedelta(minutes=10))

    assert webhook_sweep_task() == 1
    assert handler.calls == [lost.pk]
    fresh.refresh_from_db()
    assert fresh.status == WebhookStatus.RECEIVED


def test_replay_command_processes_an_exhausted_event_now():
    handler = FlakyHandler(failures=1)
    register_handler("ghl", "AppointmentCreate", handler)
    event, _ = store()
    webhook_process(event_id=event.pk)
    WebhookEvent.objects.filter(pk=event.pk).update(next_attempt_at=None)

    out = StringIO()
    call_command("replay_webhook", str(event.pk), stdout=out)

    assert "processed after 2 attempts" in out.getvalue()
    event.refresh_from_db()
    assert event.status == WebhookStatus.PROCESSED


def test_replay_command_reports_a_failure_with_its_message_and_accepts_the_public_id():
    register_handler("ghl", "AppointmentCreate", FlakyHandler(failures=5))
    event, _ = store()

    out = StringIO()
    call_command("replay_webhook", str(event.public_id), stdout=out)

    assert "failed after 1 attempt: RuntimeError: GHL said 502 Bad Gateway" in out.getvalue()


def test_replay_command_refuses_an_unknown_event_and_one_being_processed():
    with pytest.raises(CommandError, match="No webhook event 999"):
        call_command("replay_webhook", "999")
    event, _ = store()
    WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookStatus.PROCESSING, claimed_at=timezone.now())
    with pytest.raises(CommandError, match="being processed"):
        call_command("replay_webhook", str(event.pk))


def test_events_page_lists_the_agency_events_with_status_attempts_and_error(cast, as_user):
    register_handler("ghl", "AppointmentCreate", FlakyHandler(failures=1))
    failed, _ = store("a-1", client=cast.client_account)
    webhook_process(event_id=failed.pk)
    store("a-2", event_type="ContactCreate", agency=cast.agency)
    store("b-1", event_type="LocationUpdate", client=cast.client_b)

    url = reverse("webhook_event_list", args=[cast.agency.slug])
    page = as_user(cast.owner).get(url)

    assert page.status_code == 200
    html = page.content.decode()
    assert "AppointmentCreate" in html and "ContactCreate" in html
    assert "RuntimeError: GHL said 502 Bad Gateway" in html
    assert "A Dental" in html
    assert "LocationUpdate" not in html, "another agency's events never show"

    only_failed = as_user(cast.owner).get(url, {"status": "failed"}).content.decode()
    assert "AppointmentCreate" in only_failed and "ContactCreate" not in only_failed


def test_events_page_shows_the_payload_with_secrets_masked(cast, as_user):
    webhook_store(
        provider="vapi",
        event_type="end-of-call-report",
        unique_key="call-1:end-of-call-report:1",
        body={
            "message": {
                "call": {"id": "call-1", "customer": {"number": "+15550100"}},
                "assistant": {"server": {"url": "https://x.test", "headers": {"X-Vapi-Secret": "hunter2-secret"}}},
            }
        },
        headers={},
        agency=cast.agency,
    )
    html = as_user(cast.owner).get(reverse("webhook_event_list", args=[cast.agency.slug])).content.decode()
    assert "+15550100" in html
    assert "X-Vapi-Secret" in html
    assert "hunter2-secret" not in html


def test_events_page_paginates(cast, as_user):
    for number in range(55):
        store(f"evt-{number}", agency=cast.agency)
    page = as_user(cast.staff).get(reverse("webhook_event_list", args=[cast.agency.slug]), {"page": 2})
    assert page.status_code == 200
    assert "51–55 of 55" in page.content.decode()


def test_events_page_is_hidden_from_outsiders_and_client_admins(cast, as_user):
    store(client=cast.client_account)
    url = reverse("webhook_event_list", args=[cast.agency.slug])
    assert as_user(cast.outsider).get(url).status_code == 404
    assert as_user(cast.client_admin).get(url).status_code == 404


def test_secrets_vapi_echoes_are_masked_before_the_body_is_stored(cast):
    server = {"url": "https://x.test", "headers": {"X-Vapi-Secret": "hunter2-secret", "Content-Type": "text/json"}}
    event, _ = webhook_store(
        provider="vapi",
        event_type="end-of-call-report",
        unique_key="call-1:end-of-call-report:1",
        body={
            "type": "end-of-call-report",
            "assistant": {"server": server, "serverUrlSecret": "hunter2-legacy"},
            "call": {"id": "call-1", "assistant": {"server": {"headers": {"Authorization": "Bearer hunter2-bearer"}}}},
            "costs": [{"type": "model", "promptTokens": 900, "completionTokens": 60, "cost": 0.01}],
        },
        headers={},
        agency=cast.agency,
    )
    stored = WebhookEvent.objects.filter(pk=event.pk).values_list("body", flat=True).get()
    assert "hunter2" not in str(stored)
    assert stored["assistant"]["server"]["headers"] == {"X-Vapi-Secret": redaction.MASK, "Content-Type": "text/json"}
    # What processing reads is kept: the call id, the server URL, token counts in the cost breakdown.
    assert stored["call"]["id"] == "call-1" and stored["assistant"]["server"]["url"] == "https://x.test"
    assert stored["costs"][0]["promptTokens"] == 900


def test_masking_before_storing_decides_each_key_where_it_stands():
    """Keys are decided once per process and remembered: the same key is a secret inside `headers` and not
    elsewhere, a long key is decided as well as a short one, and text is cleaned whichever way it came."""
    long_key = "x" * 80 + "Secret"
    body = {
        "headers": {"X-Custom": "hunter2-a", "Content-Type": "application/json"},
        "metadata": {"X-Custom": "kept", long_key: "hunter2-b", "x" * 80: "kept too"},
        "messages": [{"role": "bot", "message": "ascii\x00with nul"}, {"role": "user", "message": "caf\u00e9\x00"}],
    }
    for _ in range(2):  # the second pass reads the remembered decisions
        stored = redaction.webhook_body_for_storage(body=body)
        assert stored["headers"] == {"X-Custom": redaction.MASK, "Content-Type": "application/json"}
        assert stored["metadata"] == {"X-Custom": "kept", long_key: redaction.MASK, "x" * 80: "kept too"}
        assert [m["message"] for m in stored["messages"]] == ["asciiwith nul", "caf\u00e9"]


def test_events_page_shows_a_deep_body_stored_before_the_door_refused_it(cast, as_user):
    event = WebhookEvent.objects.create(
        provider="vapi",
        event_type="hang",
        unique_key="deep-1",
        agency=cast.agency,
        status=WebhookStatus.FAILED,
        body={},
    )
    # Written as text, the way such a row reached the database: 900 arrays deep.
    deep = '{"who": "caller", "x": ' + "[" * 900 + "]" * 900 + "}"
    placeholder = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE integrations_webhookevent SET body = {placeholder} WHERE id = %s", [deep, event.pk])
    client = as_user(cast.owner)
    response = client.get(reverse("webhook_event_list", args=[cast.agency.slug]))
    assert response.status_code == 200
    assert "nested deeper than 64 levels" in response.content.decode()
    # The dashboard lists the failed event too.
    assert client.get(reverse("dashboard", args=[cast.agency.slug])).status_code == 200


def test_events_page_shows_text_with_a_lone_surrogate_stored_before(cast, as_user):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL's jsonb refuses a lone surrogate, so no such row can exist there.")
    WebhookEvent.objects.create(
        provider="vapi", event_type="hang", unique_key="sur-1", agency=cast.agency, body={"said": "hi \ud800 there"}
    )
    response = as_user(cast.owner).get(reverse("webhook_event_list", args=[cast.agency.slug]))
    assert response.status_code == 200
    assert "hi \ufffd there" in response.content.decode()


def test_a_spooled_event_keeps_no_secret_the_sender_echoed(settings):
    from integrations import spool

    settings.WEBHOOK_SPOOL_URL = "redis://spool.invalid:6379/1"
    pushed = []
    fake = mock.Mock(lpush=lambda key, value: pushed.append(value))
    with mock.patch.object(spool, "_redis", return_value=fake):
        assert spool.webhook_spool(
            provider="vapi",
            event_type="status-update",
            unique_key="call-1:status-update:1",
            body={"assistant": {"server": {"headers": {"X-Vapi-Secret": "hunter2-secret"}}}, "call": {"id": "call-1"}},
            headers={"X-Vapi-Secret": "hunter2-header", "Content-Type": "application/json"},
        )
    (entry,) = pushed
    assert "hunter2" not in entry and '"call-1"' in entry


class FakeSpool:
    """The spool's Redis list (LPUSH puts the newest first) and its drain lock."""

    def __init__(self, entries: list[dict]):
        self.items = [json.dumps(entry) for entry in reversed(entries)]

    def lindex(self, key, index):
        return self.items[index] if self.items else None

    def rpop(self, key):
        return self.items.pop()

    def lock(self, key, timeout):
        return mock.Mock(acquire=mock.Mock(return_value=True))


def test_a_spool_longer_than_a_batch_drains_whole_without_waiting_for_the_next_beat(settings, monkeypatch):
    from integrations import spool
    from integrations.tasks import webhook_spool_drain_task

    settings.WEBHOOK_SPOOL_URL = "redis://spool.invalid:6379/1"
    monkeypatch.setattr(spool, "DRAIN_BATCH", 2)
    events = [
        {"provider": "ghl", "event_type": "ContactCreate", "unique_key": f"wh-{n}", "body": {"webhookId": f"wh-{n}"}}
        for n in range(5)
    ]
    fake = FakeSpool([{**event, "headers": {}, "agency_id": None, "location_id": ""} for event in events])
    drains = []

    def drain(**kwargs):
        drains.append(real_drain(**kwargs))
        return drains[-1]

    real_drain = spool.webhook_spool_drain
    monkeypatch.setattr(spool, "webhook_spool_drain", drain)
    with mock.patch.object(spool, "_redis", return_value=fake):
        webhook_spool_drain_task.delay()  # one beat's drain; eager here, as a worker would run the ones it queues
    assert drains == [2, 2, 1] and fake.items == []
    assert sorted(WebhookEvent.objects.values_list("unique_key", flat=True)) == [f"wh-{n}" for n in range(5)]
