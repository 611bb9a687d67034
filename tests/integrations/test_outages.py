"""Broker and database outages around the inbox and jobs: nothing fails the request, the sweepers pick
the work up later (the real outages are in tests/faults)."""

from datetime import timedelta
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.db import OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from agencyhub.enqueue import enqueue
from integrations.jobs import job_create, job_for_task, jobs_queued_sweep
from integrations.models import Job, JobStatus
from tests.integrations.ghl.signing import ED25519_KEY, ed25519_sign, public_pem
from voice.assistants.services import assistants_pending_sweep
from voice.calls import tasks as call_tasks
from voice.models import Assistant, SyncStatus

pytestmark = pytest.mark.django_db

BROKER_DOWN = BrokerUnavailable("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_an_enqueue_the_broker_refuses_is_logged_and_reported_not_raised(caplog):
    with mock.patch.object(call_tasks.call_export_task, "delay", side_effect=BROKER_DOWN):
        assert enqueue(call_tasks.call_export_task, 41) is False
    assert "call_export_task(41,) left for its sweeper" in caplog.text


def test_an_export_started_while_the_broker_is_down_is_queued_and_the_page_says_so(cast, as_user):
    client = as_user(cast.owner)
    with mock.patch.object(call_tasks.call_export_task, "delay", side_effect=BROKER_DOWN):
        response = client.post(f"/a/{cast.agency.slug}/calls/export/")
    assert response.status_code == 302
    job = Job.objects.get()
    assert job.status == JobStatus.QUEUED
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    page = client.get(response.url).content.decode()
    assert "Queued, will run when the worker is reachable." in page and "stopped making progress" not in page


def test_the_jobs_sweeper_runs_a_queued_job_once(cast, settings):
    settings.QUEUED_WORK_GRACE_SECONDS = 60
    job = job_create(agency=cast.agency, created_by=cast.owner, kind="call_export", title="Calls", params={})
    assert jobs_queued_sweep() == 0  # too fresh: its own enqueue may still be on its way
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert jobs_queued_sweep() == 1  # eager: the export ran
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job_for_task(job_id=job.pk) is None  # a second copy of the task finds nothing to do
    assert jobs_queued_sweep() == 0


def test_a_pending_push_is_enqueued_again_and_its_page_says_it_waits_for_the_worker(cast, as_user, settings):
    from tests.factories import AssistantFactory

    settings.QUEUED_WORK_GRACE_SECONDS = 60
    assistant = AssistantFactory(client=cast.client_account)
    long_ago = timezone.now() - timedelta(minutes=5)
    Assistant.objects.filter(pk=assistant.pk).update(sync_status=SyncStatus.PENDING, push_requested_at=long_ago)
    page = as_user(cast.owner).get(f"/a/{cast.agency.slug}/assistants/{assistant.public_id}/").content.decode()
    assert "Queued, will run when the worker is reachable." in page

    with mock.patch("voice.assistants.tasks.assistant_push_task.delay", side_effect=BROKER_DOWN):
        assert assistants_pending_sweep() == 0  # still down: left for the next sweep
    with mock.patch("voice.assistants.tasks.assistant_push_task.delay") as delay:
        assert assistants_pending_sweep() == 1
        assert assistants_pending_sweep() == 0  # the grace period restarted: not enqueued every minute
    delay.assert_called_once_with(assistant.pk)


def test_a_ghl_event_that_cannot_be_stored_or_spooled_is_answered_429_with_retry_after(client, settings):
    import json

    settings.GHL_WEBHOOK_ED25519_PUBLIC_KEY = public_pem(ED25519_KEY)
    settings.WEBHOOK_SPOOL_URL = ""
    body = json.dumps({"type": "ContactCreate", "locationId": "loc-a", "webhookId": "wh-down"}).encode()
    with mock.patch("integrations.ghl.webhooks.webhook_store", side_effect=OperationalError("down")):
        response = client.post(
            "/api/webhooks/ghl/",
            data=body,
            content_type="application/json",
            headers={"X-GHL-Signature": ed25519_sign(body, ED25519_KEY)},
        )
    # GHL retries only a 429 (shared/reference/ghl-api.md §9.5): a 5xx would lose the event.
    assert response.status_code == 429 and response["Retry-After"] == "600"


def test_healthz_says_degraded_not_down_when_only_the_cache_fails(client):
    with mock.patch("agencyhub.health._cache", side_effect=RuntimeError("cache did not return what was written")):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "checks": {"database": "ok", "cache": "error: RuntimeError"}}


def test_a_database_restart_does_not_exhaust_the_inbox_tasks_retries(monkeypatch):
    """The task retries a database it cannot reach for about two minutes before leaving the row to the
    sweeper, and never in a burst of near-zero waits that a restart of a few seconds would outlast."""
    from integrations import inbox
    from integrations.tasks import webhook_process_task

    monkeypatch.setattr(inbox, "webhook_process", mock.Mock(side_effect=OperationalError("connection refused")))
    waits = []
    for attempt in range(20):  # the task's n-th attempt, as a worker would run it
        with (
            mock.patch.object(webhook_process_task, "retry", wraps=webhook_process_task.retry) as retry,
            pytest.raises((OperationalError, Retry)) as raised,
        ):
            webhook_process_task.apply(args=(1,), retries=attempt)
        if raised.type is OperationalError:  # retries exhausted: the error itself, left to the sweeper
            break
        waits.append(retry.call_args_list[0].kwargs["countdown"])
    assert waits and min(waits) >= 2 and sum(waits) >= 120, waits
