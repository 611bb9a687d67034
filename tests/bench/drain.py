"""Background drain rate: end-of-call reports processed per second by a real Celery worker, as production runs it.

Stores BENCH_DRAIN_EVENTS end-of-call reports (the ingest bench's, tests/bench/ingest.py) in a bench database's
inbox (tests/bench/seed.py; BENCH_CALLS picks which, seeded by tests/bench/pages.py) without kicking any worker,
then starts `celery -A agencyhub worker` with one process per core (docs/deploy.md) on the bench's Redis broker
(BENCH_BROKER_URL, whose queue is deleted afterwards) and cache (BENCH_CACHE_URL), and times it two ways:

- batch drain (what the web tier does now): one kick, the worker's drain tasks claim the reports in batches;
- one task per report (what the web tier did before): one webhook_process_task message per stored report.

Each is timed from the first message to the last report recorded as processed; the follow-up tasks the reports
enqueue run on the same worker and are counted until the queue is empty. By default the reports name no assistant
of the bench agency, so their calls have no client and no follow-ups (no GHL log, proof check or write-back);
BENCH_DRAIN_ASSISTANT=asst-bench-0 names a seeded one, so each call has a client as in production and its
follow-ups run (the bench's clients have no GHL connection, so the log and write-back end early). Printed beside
the accept rate of the web tier that tests/bench/ingest.py last measured (artifacts/bench/ingest.json, 8
connections): PASS when processing keeps up with accepting. Both are measured alone on this machine, each with
all of its cores. The reports and their calls are deleted afterwards, so the seeded database stays as it was.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")

from tests.bench import seed as bench_seed  # noqa: E402

CALLS = int(os.environ.get("BENCH_CALLS", "100000"))
EVENTS = int(os.environ.get("BENCH_DRAIN_EVENTS", "600"))
# The assistant the reports name: by default one the bench did not seed, so each call has no client (no GHL log,
# proof check or write-back to plan); a seeded one (asst-bench-0) gives each call a client, as in production.
ASSISTANT = os.environ.get("BENCH_DRAIN_ASSISTANT", "")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/12")
# docs/deploy.md: each worker runs one process per core (Celery's default --concurrency).
CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", os.cpu_count() or 1))
MODES = [m for m in os.environ.get("BENCH_DRAIN_MODES", "batch,per-event").split(",") if m]
OUT = ROOT / "artifacts" / "bench"
BENCH_URL, NEEDS_SEED = bench_seed.prepare(CALLS)
if NEEDS_SEED:
    raise SystemExit("drain bench: seed the database first (tests/bench/pages.py with the same BENCH_CALLS)")
os.environ.update(
    DATABASE_URL=BENCH_URL,
    CELERY_BROKER_URL=BROKER_URL,
    CACHE_URL=CACHE_URL,
    CELERY_TASK_ALWAYS_EAGER="False",
    LOG_LEVEL="WARNING",
)

# The worker's environment, taken before tests/bench/ingest.py (imported for its reports) points DATABASE_URL
# at the ingest bench's database.
WORKER_ENV = os.environ.copy()

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.db import transaction  # noqa: E402
from django.db.models import Max  # noqa: E402

from tests.bench.ingest import end_of_call_report  # noqa: E402

QUEUE_KEYS = ("celery", "_kombu.binding.celery", "_kombu.binding_permanent.celery")
DONE = ("processed", "failed", "ignored")


def stored_reports(agency, prefix: str) -> list[int]:
    """EVENTS reports in the inbox, as the endpoint stores them, with no worker told about them."""
    from integrations.inbox import webhook_store

    ids = []
    with mock.patch("integrations.inbox.webhook_kick"), transaction.atomic():
        for i in range(EVENTS):
            event, _ = webhook_store(
                provider="vapi",
                event_type="end-of-call-report",
                unique_key=f"{prefix}-{i}",
                body=_named(json.loads(end_of_call_report(i, prefix=prefix))["message"]),
                headers={},
                agency=agency,
            )
            ids.append(event.pk)
    return ids


def _named(message: dict) -> dict:
    if ASSISTANT:
        message["call"]["assistantId"] = ASSISTANT
    return message


def worker_start(log) -> subprocess.Popen:
    from agencyhub.celery import app

    worker = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "agencyhub",
            "worker",
            f"--concurrency={CONCURRENCY}",
            "--loglevel=WARNING",
            "--without-mingle",
            f"--hostname=bench-drain-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=WORKER_ENV,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"the Celery worker exited with {worker.returncode}; see {log.name}")
        if app.control.ping(timeout=0.5):  # the bench's own broker: only this worker answers
            return worker
    worker.terminate()
    raise SystemExit(f"the Celery worker did not answer within 120 s; see {log.name}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its threads (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            todo.extend(int(child) for child in task.read_text().split())
    return pids


def cpu_used(worker: subprocess.Popen) -> float:
    """CPU seconds so far of the worker's processes: what processing costs the machine in Python, whatever
    else loads it meanwhile (PostgreSQL's share is not counted)."""
    return sum(_cpu_seconds(pid) for pid in _process_tree(worker.pid))


def timed_drain(mode: str, ids: list[int], broker, worker: subprocess.Popen) -> dict:
    """Seconds from the first message to the last report processed, and until the queue is empty; CPU
    milliseconds per report spent by the worker over the same span."""
    from django.utils import timezone

    from integrations.models import WebhookEvent
    from integrations.tasks import webhook_drain_task, webhook_process_task

    events = WebhookEvent.objects.filter(pk__in=ids)
    cpu_before = cpu_used(worker)
    started_at, started = timezone.now(), time.perf_counter()
    if mode == "batch":
        webhook_drain_task.delay()
    else:
        for event_id in ids:
            webhook_process_task.delay(event_id)
    deadline = started + 600
    while events.filter(status__in=DONE).count() < len(ids) and time.perf_counter() < deadline:
        time.sleep(0.1)
    done = events.filter(status__in=DONE)
    last = done.aggregate(last=Max("processed_at"))["last"] or timezone.now()
    processed = done.filter(status="processed").count()
    while broker.llen("celery") and time.perf_counter() < deadline:
        time.sleep(0.1)
    # The follow-up tasks last taken from the queue finish within moments: a short grace before reading the end.
    time.sleep(0.5)
    return {
        "worker_cpu_ms_per_report": round((cpu_used(worker) - cpu_before) * 1000 / len(ids), 2),
        "processed": processed,
        "not_processed": len(ids) - processed,
        "seconds": round((last - started_at).total_seconds(), 2),
        "queue_empty_seconds": round(time.perf_counter() - started - 0.5, 2),
    }


def accept_rate() -> float | None:
    """Reports/s the web tier accepted at 8 connections in tests/bench/ingest.py's last run, if any."""
    path = OUT / "ingest.json"
    if not path.exists():
        return None
    runs = json.loads(path.read_text())["runs"]
    series = [s for run in runs.values() for label, s in run["series"].items() if label != "1 connection"]
    rates = [s["ingest"]["rps"] for s in series]
    return max(rates) if rates else None


def main() -> None:
    from integrations.models import WebhookEvent
    from tenants.models import Agency
    from voice.models import Call

    agency = Agency.objects.get(name="Bench Agency")
    broker = redis.Redis.from_url(BROKER_URL)
    broker.delete(*QUEUE_KEYS)
    OUT.mkdir(parents=True, exist_ok=True)
    results, prefixes = {}, []
    with open(OUT / "drain-worker.log", "w") as log:
        worker = worker_start(log)
        try:
            for mode in MODES:
                prefix = f"bench-drain-{mode}-{int(time.time())}"
                prefixes.append(prefix)
                ids = stored_reports(agency, prefix)
                results[mode] = timed_drain(mode, ids, broker, worker)
                calls = Call.objects.filter(agency=agency, vapi_call_id__startswith=prefix).count()
                results[mode]["calls"] = calls
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
            broker.delete(*QUEUE_KEYS)
            for prefix in prefixes:
                Call.objects.filter(agency=agency, vapi_call_id__startswith=prefix).delete()
                WebhookEvent.objects.filter(unique_key__startswith=prefix).delete()
    report(results)


def report(results: dict) -> None:
    from tests.bench.chart import verdict

    accepting = accept_rate()
    named = f"naming {ASSISTANT}" if ASSISTANT else "naming no assistant of the agency (calls without a client)"
    print(f"drain: {EVENTS} stored end-of-call reports {named}, one Celery worker with {CONCURRENCY} processes")
    for mode, r in results.items():
        r["per_second"] = round(r["processed"] / r["seconds"], 1) if r["seconds"] > 0 else 0.0
        print(
            f"  {mode:<10} {r['per_second']:>7}/s: {r['processed']} processed in {r['seconds']} s "
            f"({r['not_processed']} not), queue empty after {r['queue_empty_seconds']} s (notes, proof checks)"
        )
        print(
            f"  {'':<10} worker CPU per report, follow-up tasks included: {r['worker_cpu_ms_per_report']} ms "
            "(PostgreSQL's not counted)"
        )
    processing = results.get("batch", next(iter(results.values()), {})).get("per_second", 0.0)
    if accepting is None:
        print("  accepting: no artifacts/bench/ingest.json (run tests/bench/ingest.py): no verdict")
        ok = None
    else:
        ok = processing >= accepting
        print(f"{verdict(ok)}  processing {processing}/s >= accepting {accepting}/s (ingest.py, 8 connections)")
    (OUT / "drain.json").write_text(
        json.dumps(
            {
                "calls_in_database": CALLS,
                "events": EVENTS,
                "concurrency": CONCURRENCY,
                "modes": results,
                "accepting_per_second": accepting,
                "verdict": None if ok is None else verdict(ok),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
