"""Background drain rate: end-of-call reports processed per second by one worker, as the code is today.

Stores BENCH_DRAIN_EVENTS signed-shape end-of-call reports in a bench database's inbox (tests/bench/seed.py;
BENCH_CALLS picks which), without enqueueing them, then processes them one after the other in this one
process, as one Celery worker would: webhook_process (claim, Call upsert, attempts) and the note task's
enqueue on commit, published to the bench's Redis broker (db 13, whose queue is deleted afterwards). The
GHL note itself (a task of its own, against GHL) is not included. The reports and their calls are deleted
afterwards, so the seeded database stays as it was seeded.
"""

import os
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")

from tests.bench import seed as bench_seed  # noqa: E402

CALLS = int(os.environ.get("BENCH_CALLS", "100000"))
EVENTS = int(os.environ.get("BENCH_DRAIN_EVENTS", "400"))
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
BENCH_URL, NEEDS_SEED = bench_seed.prepare(CALLS)
if NEEDS_SEED:
    raise SystemExit("drain bench: seed the database first (tests/bench/pages.py with the same BENCH_CALLS)")
os.environ.update(DATABASE_URL=BENCH_URL, CELERY_BROKER_URL=BROKER_URL, CELERY_TASK_ALWAYS_EAGER="False")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.db import transaction  # noqa: E402

from tests.bench.ingest import end_of_call_report  # noqa: E402


def main() -> None:
    import json

    from integrations.inbox import webhook_process, webhook_store
    from integrations.models import WebhookEvent
    from tenants.models import Agency
    from voice.models import Call

    agency = Agency.objects.get(name="Bench Agency")
    prefix = f"bench-drain-{int(time.time())}"
    ids = []
    with mock.patch("integrations.inbox.enqueue_on_commit"), transaction.atomic():
        for i in range(EVENTS):
            body = json.loads(end_of_call_report(i, prefix=prefix))["message"]
            event, _ = webhook_store(
                provider="vapi",
                event_type="end-of-call-report",
                unique_key=f"{prefix}-{i}",
                body=body,
                headers={},
                agency=agency,
            )
            ids.append(event.pk)
    broker = redis.Redis.from_url(BROKER_URL)
    queued = broker.llen("celery")
    started = time.perf_counter()
    for event_id in ids:
        webhook_process(event_id=event_id)
    elapsed = time.perf_counter() - started
    processed = Call.objects.filter(agency=agency, vapi_call_id__startswith=prefix).count()
    notes = broker.llen("celery") - queued
    broker.delete("celery", "_kombu.binding.celery", "_kombu.binding_permanent.celery")
    Call.objects.filter(agency=agency, vapi_call_id__startswith=prefix).delete()
    WebhookEvent.objects.filter(pk__in=ids).delete()
    print(
        f"drain: {processed} end-of-call reports processed by one worker in {elapsed:.1f} s: "
        f"{processed / elapsed:.1f}/s ({notes} note tasks enqueued; GHL notes themselves not included)"
    )
    (ROOT / "artifacts" / "bench").mkdir(parents=True, exist_ok=True)
    (ROOT / "artifacts" / "bench" / "drain.json").write_text(
        json.dumps(
            {
                "calls_in_database": CALLS,
                "events": processed,
                "seconds": round(elapsed, 2),
                "per_second": round(processed / elapsed, 1),
                "notes_enqueued": notes,
            }
        )
    )


if __name__ == "__main__":
    main()
