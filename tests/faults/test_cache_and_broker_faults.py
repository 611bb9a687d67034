"""Cache Redis or broker Redis stopped under a running app: Vapi still hears answers, nothing is lost."""

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from django.test import Client

from integrations.models import Job, JobStatus, WebhookEvent
from tests.faults.conftest import vapi_send, wait_for
from tests.vapi import CALLER, next_weekday, tool_calls
from voice.assistants.services import assistant_push
from voice.models import Assistant, SyncStatus

pytestmark = [pytest.mark.faults]

# Vapi's own budget for a tool answer is 20 s; a caller notices anything past a couple of seconds.
CALLER_PATIENCE_SECONDS = 3.0


def status_update(call_id: str, status: str = "in-progress") -> dict:
    return {
        "type": "status-update",
        "status": status,
        "timestamp": int(time.time() * 1000),
        "call": {"id": call_id, "assistantId": "asst-live-1", "customer": {"number": CALLER}},
    }


def availability(call_id: str) -> dict:
    day = next_weekday("tuesday").isoformat()
    return tool_calls((f"tc-{call_id}", "check_availability", {"date": day}), call_id=call_id)


def test_cache_redis_stopped_tool_calls_and_status_updates_are_still_answered(live, app_url, cache_redis):
    with httpx.Client(base_url=app_url, timeout=10) as http:
        cache_redis.stop()
        answers = [vapi_send(http, live.path, availability(f"call-nocache-{i}")) for i in range(4)]
        updates = [vapi_send(http, live.path, status_update(f"call-nocache-{i}")) for i in range(4)]

        for response, seconds in answers:
            assert response.status_code == 200
            result = response.json()["results"][0]
            assert "error" not in result and result["result"].startswith("For cleaning, I have")
            assert seconds < CALLER_PATIENCE_SECONDS
        assert all(r.status_code == 200 and s < CALLER_PATIENCE_SECONDS for r, s in updates)
        assert WebhookEvent.objects.filter(event_type="status-update").count() == 4
        # Sign-in is rate limited through the cache: without it allauth refuses (429, its own page) rather than
        # allow unlimited password guesses; never a 5xx.
        token = "f" * 32
        login = http.post(
            "/accounts/login/",
            data={"login": live.owner.email, "password": "wrong-password"},
            cookies={"csrftoken": token},
            headers={"X-CSRFToken": token, "Referer": f"{app_url}/accounts/login/"},
        )
        assert login.status_code == 429 and "Sign-in is paused for a moment" in login.text
        health = http.get("/healthz").json()
        assert health["status"] == "degraded" and health["checks"]["cache"] != "ok"

        # Redis back on the same port: the pooled client reconnects by itself and the cache is used again.
        cache_redis.start()
        wait_for(lambda: http.get("/healthz").json()["status"] == "ok", what="cache back in /healthz")
        response, _ = vapi_send(http, live.path, availability("call-cache-back"))
        assert "result" in response.json()["results"][0]
        assert redis.Redis(port=cache_redis.port).dbsize() > 0


def test_healthz_is_right_for_concurrent_probes(app_url):
    def probe(_):
        return httpx.get(f"{app_url}/healthz", timeout=10).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(probe, range(160)))
    assert statuses.count(200) == 160


def _staff_http(app_url: str, user) -> httpx.Client:
    """A signed-in staff browser: a real session row, and a CSRF cookie with its header."""
    client = Client()
    client.force_login(user)
    token = "f" * 32
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": token}
    return httpx.Client(base_url=app_url, timeout=10, cookies=cookies, headers={"X-CSRFToken": token})


def test_broker_stopped_requests_succeed_and_the_work_runs_once_it_is_back(
    live, app_url, broker_redis, broker, start_worker
):
    # Created in the Vapi sandbox first, so the push after the outage is an update Vapi accepts.
    Assistant.objects.filter(pk=live.assistant.pk).update(vapi_id="")
    vapi_id = assistant_push(assistant_id=live.assistant.pk).vapi_id
    assistant_request = {
        "type": "assistant-request",
        "call": {"id": "call-nobroker", "phoneNumberId": "pn-live-1", "customer": {"number": CALLER}},
        "phoneNumber": {"id": "pn-live-1", "number": "+13125550100"},
    }
    broker_redis.stop()
    with httpx.Client(base_url=app_url, timeout=10) as vapi:
        response, seconds = vapi_send(vapi, live.path, assistant_request)
    assert response.status_code == 200 and response.json()["assistantId"] == vapi_id
    assert seconds < CALLER_PATIENCE_SECONDS

    slug = live.agency.slug
    with _staff_http(app_url, live.owner) as staff:
        started = time.monotonic()
        push = staff.post(f"/a/{slug}/assistants/{live.assistant.public_id}/push/")
        export = staff.post(f"/a/{slug}/calls/export/")
        seconds = time.monotonic() - started
    assert push.status_code == 302 and export.status_code == 302
    assert seconds < 2 * CALLER_PATIENCE_SECONDS
    assert Assistant.objects.get(pk=live.assistant.pk).sync_status == SyncStatus.PENDING
    job = Job.objects.get()
    assert job.status == JobStatus.QUEUED

    # The broker returns; beat's sweepers enqueue what was left pending or queued.
    broker_redis.start()
    start_worker()
    broker.send_task("voice.assistants.tasks.assistants_pending_sweep_task")
    broker.send_task("integrations.tasks.jobs_queued_sweep_task")
    wait_for(lambda: Assistant.objects.get(pk=live.assistant.pk).sync_status != SyncStatus.PENDING, what="push done")
    pushed = Assistant.objects.get(pk=live.assistant.pk)
    assert pushed.sync_status == SyncStatus.SYNCED, pushed.sync_error
    wait_for(lambda: Job.objects.get(pk=job.pk).status == JobStatus.DONE, what="export done")
    assert Job.objects.count() == 1
