"""PostgreSQL unreachable for seconds under a burst of Vapi and GHL events, and a worker killed mid-task:
every event is stored, spooled then drained, or refused with a status its sender retries; none is lost
and none is stored twice; a warm tool call is answered during the cut; the app recovers without a restart."""

import signal
import threading
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import redis

from integrations.models import WebhookEvent, WebhookStatus
from integrations.spool import SPOOL_KEY
from tests.faults.conftest import ghl_send, vapi_send, wait_for
from tests.faults.test_cache_and_broker_faults import CALLER_PATIENCE_SECONDS, availability, status_update
from voice.models import Call

pytestmark = [pytest.mark.faults]

LOCATION = "sbxLocChicago0000001"


def ghl_event(webhook_id: str, event_type: str = "ContactCreate") -> dict:
    return {
        "type": event_type,
        "locationId": LOCATION,
        "webhookId": webhook_id,
        "timestamp": datetime.now(UTC).isoformat(),
        "id": f"contact-{webhook_id}",
    }


def _burst(app_url: str, path: str, until: threading.Event, heard: list) -> None:
    """Vapi status-updates and GHL events, alternating, as fast as one sender goes, until told to stop."""
    with httpx.Client(base_url=app_url, timeout=15) as http:
        while not until.is_set():
            key = uuid.uuid4().hex[:12]
            response, seconds = vapi_send(http, path, status_update(f"call-{key}"))
            heard.append(("vapi", f"call-{key}", response.status_code, seconds, response.headers.get("Retry-After")))
            response, seconds = ghl_send(http, ghl_event(f"wh-{key}"))
            heard.append(("ghl", f"wh-{key}", response.status_code, seconds, response.headers.get("Retry-After")))


def test_postgres_cut_under_a_burst_loses_no_event(live, app_url, pg_proxy, cache_redis, broker, start_worker):
    start_worker()
    with httpx.Client(base_url=app_url, timeout=15) as http:
        warm, _ = vapi_send(http, live.path, availability("call-warm"))  # fills the cache: setup and slots
        assert "result" in warm.json()["results"][0]

        stop, heard = threading.Event(), []
        senders = [threading.Thread(target=_burst, args=(app_url, live.path, stop, heard)) for _ in range(3)]
        for sender in senders:
            sender.start()
        time.sleep(1.5)
        pg_proxy.cut()
        time.sleep(0.5)
        during, during_seconds = vapi_send(http, live.path, availability("call-warm"))
        time.sleep(3)
        pg_proxy.restore()
        time.sleep(2)  # the app must come back by itself: no restart, the next requests reconnect
        stop.set()
        for sender in senders:
            sender.join()

    # A warm availability question was answered from the cache while the database was gone.
    assert during.status_code == 200 and during_seconds < CALLER_PATIENCE_SECONDS
    assert during.json()["results"][0]["result"].startswith("For cleaning, I have")

    codes = {(kind, code) for kind, _, code, _, _ in heard}
    assert codes <= {("vapi", 200), ("vapi", 503), ("ghl", 200), ("ghl", 429)}, codes
    assert all(retry for _, _, code, _, retry in heard if code != 200), "a refusal without Retry-After"
    assert max(seconds for *_, seconds, _ in heard) < CALLER_PATIENCE_SECONDS
    # The tail of the burst came after the restore: stored directly again.
    assert all(code == 200 for _, _, code, _, _ in heard[-6:])

    # Beat drains the spool into the inbox; the worker processes every row.
    spool = redis.Redis(port=cache_redis.port, db=1)
    assert spool.llen(SPOOL_KEY) > 0, "the cut hit no request: nothing was spooled"
    broker.send_task("integrations.tasks.webhook_spool_drain_task")
    # The drain task queues behind every processing task the burst enqueued (the broker is FIFO), so how soon it
    # starts follows the backlog, not the drain itself; beat sends it every 20 s in production.
    wait_for(lambda: spool.llen(SPOOL_KEY) == 0, seconds=120, what="spool drained")

    acknowledged = {(kind, key) for kind, key, code, _, _ in heard if code == 200}
    stored_vapi = list(
        WebhookEvent.objects.filter(provider="vapi", event_type="status-update").values_list(
            "body__call__id", flat=True
        )
    )
    stored_ghl = list(WebhookEvent.objects.filter(provider="ghl").values_list("unique_key", flat=True))
    assert len(stored_vapi) == len(set(stored_vapi)) and len(stored_ghl) == len(set(stored_ghl))
    stored = {("vapi", key) for key in stored_vapi} | {("ghl", key) for key in stored_ghl}
    assert acknowledged <= stored, f"acknowledged but lost: {sorted(acknowledged - stored)[:5]}"
    wait_for(
        lambda: not WebhookEvent.objects.filter(status__in=(WebhookStatus.RECEIVED, WebhookStatus.PROCESSING)).exists(),
        seconds=60,
        what="every stored event processed",
    )
    assert not WebhookEvent.objects.filter(status=WebhookStatus.FAILED).exists()
    calls = set(Call.objects.values_list("vapi_call_id", flat=True))
    assert {key for kind, key in acknowledged if kind == "vapi"} <= calls
    print(f"burst: {len(heard)} requests, {sum(code != 200 for *_, code, _, _ in heard)} refused for a retry")


def test_postgres_and_spool_both_down_every_sender_is_told_to_retry(live, app_url, pg_proxy, cache_redis):
    with httpx.Client(base_url=app_url, timeout=15) as http:
        cache_redis.stop()
        pg_proxy.cut()
        update, update_seconds = vapi_send(http, live.path, status_update("call-nowhere"))
        ghl, ghl_seconds = ghl_send(http, ghl_event("wh-nowhere"))
        tool, tool_seconds = vapi_send(http, live.path, availability("call-nowhere"))
        pg_proxy.restore()
        cache_redis.start()
        again, _ = vapi_send(http, live.path, status_update("call-nowhere"))

    assert update.status_code == 503 and update.headers["Retry-After"]
    assert ghl.status_code == 429 and ghl.headers["Retry-After"]
    assert tool.status_code == 200 and "call back" in tool.json()["results"][0]["error"]
    assert max(update_seconds, ghl_seconds, tool_seconds) < CALLER_PATIENCE_SECONDS
    # Vapi's retry (server.backoffPlan) after the outage is stored once.
    assert again.status_code == 200
    assert WebhookEvent.objects.filter(provider="vapi").count() == 1
    assert not WebhookEvent.objects.filter(provider="ghl").exists()


def test_a_worker_killed_mid_task_leaves_a_claim_the_sweeper_takes_back(
    live, app_url, cache_redis, broker, start_worker
):
    counter = redis.Redis(port=cache_redis.port, db=2)
    first = start_worker(FAULT_SLOW_SECONDS="60", FAULT_COUNTER_URL=cache_redis.url(2))
    with httpx.Client(base_url=app_url, timeout=15) as http:
        response, _ = ghl_send(http, ghl_event("wh-slow", event_type="FaultSlow"))
    assert response.status_code == 200
    event = WebhookEvent.objects.get(unique_key="wh-slow")
    wait_for(
        lambda: WebhookEvent.objects.get(pk=event.pk).status == WebhookStatus.PROCESSING, what="claimed by the worker"
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)

    start_worker(FAULT_SLOW_SECONDS="0.2", FAULT_COUNTER_URL=cache_redis.url(2))
    started = time.monotonic()

    def swept_and_processed():
        broker.send_task("integrations.tasks.webhook_sweep_task")  # what beat does every minute
        time.sleep(1)
        return WebhookEvent.objects.get(pk=event.pk).status == WebhookStatus.PROCESSED

    wait_for(swept_and_processed, seconds=60, what="stale claim re-processed")
    event.refresh_from_db()
    assert event.attempts == 2
    assert counter.get(f"fault:handled:{event.pk}") == b"1"
    print(f"re-claimed and processed {time.monotonic() - started:.1f} s after the kill (stale claim: 3 s)")
