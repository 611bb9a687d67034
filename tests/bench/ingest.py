"""`make bench`: end-of-call-report ingest throughput, served by gunicorn against PostgreSQL.

Creates a throwaway database (agencyhub_bench_ingest), migrates it, seeds an agency and its Vapi
secret, starts gunicorn (2 sync workers, tests/bench/wsgi.py) on a free local port, then fires a
fixed number of signed end-of-call reports (distinct call ids) from a bounded pool of threads, each
with its own httpx client, within a time limit; the same for the trivial bench/ping/ view. Reports
requests/s of both and their ratio, PASS/MISS against the target, and writes artifacts/bench/
ingest.json and ingest.svg. Processing stays in the background as in production: the inbox enqueues
each stored report on a real Redis broker (db 3, not eager Celery, which would process inside the
request), and no worker runs during the measurement: on this 2-core machine a worker would take CPU
from gunicorn and the number would measure the machine, not the endpoint. The queue is checked to hold
one task per stored report, then deleted.
"""

import itertools
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")

REQUESTS = int(os.environ.get("BENCH_INGEST_REQUESTS", "3000"))
SECONDS = float(os.environ.get("BENCH_INGEST_SECONDS", "20"))
THREADS = int(os.environ.get("BENCH_INGEST_THREADS", "8"))
WORKERS = 2
DB_NAME = "agencyhub_bench_ingest"
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/3")
SECRET = "bench-ingest-vapi-secret"
OUT = ROOT / "artifacts" / "bench"

SOURCE_URL = urlsplit(os.environ.get("DATABASE_URL", ""))
if SOURCE_URL.scheme not in ("postgres", "postgresql"):
    raise SystemExit("ingest bench: DATABASE_URL must point at PostgreSQL (it is what gunicorn serves against)")
BENCH_DATABASE_URL = urlunsplit(SOURCE_URL._replace(path=f"/{DB_NAME}"))
# This process migrates and seeds the bench database, and enqueues like gunicorn does.
os.environ.update(
    DATABASE_URL=BENCH_DATABASE_URL,
    CELERY_BROKER_URL=BROKER_URL,
    CELERY_TASK_ALWAYS_EAGER="False",
    LOG_LEVEL="WARNING",
)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

from tests.bench.chart import bar_chart, verdict  # noqa: E402


def maintenance(sql: str) -> None:
    """CREATE/DROP DATABASE run outside a transaction, from the server's `postgres` database."""
    with psycopg.connect(urlunsplit(SOURCE_URL._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)


def seed() -> str:
    from tenants.models import User
    from tenants.services import agency_create
    from voice.models import VapiAccount

    owner = User.objects.create_user(email="owner@bench.test", password="bench")
    agency = agency_create(name="Bench Agency", owner=owner)
    VapiAccount.objects.create(agency=agency, webhook_secret=SECRET)
    return str(agency.public_id)


def end_of_call_report(i: int, prefix: str = "bench-ingest") -> bytes:
    """A realistic report: about twenty turns of transcript and messages, analysis, costs, recordings."""
    started = 1_763_800_000_000 + i * 1000
    turns = [
        ("bot" if n % 2 == 0 else "user", f"Turn {n} of call {i}: I'd like to book a cleaning next Tuesday morning.")
        for n in range(20)
    ]
    message = {
        "type": "end-of-call-report",
        "timestamp": started + 180_000,
        "call": {"id": f"{prefix}-{i}", "assistantId": "asst-bench-ingest", "customer": {"number": "+13125550142"}},
        "endedReason": "customer-ended-call",
        "startedAt": "2026-11-22T15:00:00.000Z",
        "endedAt": "2026-11-22T15:03:00.000Z",
        "cost": 0.1234,
        "costs": [
            {"type": "transport", "cost": 0.01},
            {"type": "model", "cost": 0.05},
            {"type": "voice", "cost": 0.06},
        ],
        "artifact": {
            "transcript": "\n".join(f"{role}: {text}" for role, text in turns),
            "messages": [
                {"role": role, "message": text, "secondsFromStart": n * 9.0} for n, (role, text) in enumerate(turns)
            ],
            "recordingUrl": f"https://storage.vapi.ai/bench-ingest-{i}-mono.wav",
            "stereoRecordingUrl": f"https://storage.vapi.ai/bench-ingest-{i}-stereo.wav",
        },
        "analysis": {
            "summary": "The caller booked a cleaning for Tuesday at 10 AM.",
            "structuredData": {"booked": True, "service": "cleaning"},
            "successEvaluation": "true",
        },
    }
    return json.dumps({"message": message}).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(port: int, log) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "tests.bench.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={WORKERS}",
            "--worker-class=sync",
            "--timeout=30",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}; see {log.name}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/bench/ping/", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"gunicorn did not answer within 30 s; see {log.name}")


def fire(url: str, bodies: list[bytes]) -> dict:
    """POSTs every body once (or until the time limit) from THREADS threads; requests/s of the 200s."""
    numbers = itertools.count()  # next() on a count is atomic under the GIL: each body is sent once
    deadline = time.monotonic() + SECONDS
    headers = {"Content-Type": "application/json", "X-Vapi-Secret": SECRET}

    def worker() -> tuple[int, int]:
        ok = failed = 0
        with httpx.Client(timeout=10, headers=headers) as http:
            while time.monotonic() < deadline:
                n = next(numbers)
                if n >= len(bodies):
                    break
                if http.post(url, content=bodies[n]).status_code == 200:
                    ok += 1
                else:
                    failed += 1
        return ok, failed

    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(lambda _: worker(), range(THREADS)))
    elapsed = time.perf_counter() - start
    ok, failed = sum(o for o, _ in outcomes), sum(f for _, f in outcomes)
    return {"ok": ok, "failed": failed, "seconds": round(elapsed, 2), "rps": round(ok / elapsed, 1)}


def run(port: int, agency_id: str) -> dict:
    base = f"http://127.0.0.1:{port}"
    ingest_url, ping_url = f"{base}/api/webhooks/vapi/{agency_id}/", f"{base}/bench/ping/"
    # Both workers load the app and open their database connection before anything is timed.
    warmup = [end_of_call_report(n, prefix="bench-warmup") for n in range(4 * THREADS)]
    fire(ingest_url, warmup)
    fire(ping_url, warmup)
    bodies = [end_of_call_report(i) for i in range(REQUESTS)]
    return {
        "trivial JSON view": fire(ping_url, bodies),
        "end-of-call-report ingest": fire(ingest_url, bodies),
    }


def main():
    maintenance(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    maintenance(f"CREATE DATABASE {DB_NAME}")
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        call_command("migrate", verbosity=0)
        agency_id = seed()
        connections.close_all()
        port = free_port()
        with open(OUT / "ingest-gunicorn.log", "w") as log:
            server = gunicorn_start(port, log)
            try:
                results = run(port, agency_id)
            finally:
                server.terminate()
                server.wait(timeout=15)
        from integrations.models import WebhookEvent

        stored = WebhookEvent.objects.filter(unique_key__startswith="bench-ingest-", event_type="end-of-call-report")
        results["end-of-call-report ingest"]["stored"] = stored.count()
        results["end-of-call-report ingest"]["enqueued"] = redis.Redis.from_url(BROKER_URL).llen("celery")
        connections.close_all()
    finally:
        maintenance(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        # Only what the enqueued tasks left: the queue and kombu's bindings of it.
        redis.Redis.from_url(BROKER_URL).delete("celery", "_kombu.binding.celery", "_kombu.binding_permanent.celery")
    trivial, ingest = results["trivial JSON view"], results["end-of-call-report ingest"]
    ratio = round(ingest["rps"] / (trivial["rps"] or 1), 2)
    print(f"gunicorn {WORKERS} sync workers, PostgreSQL, {THREADS} client threads, {REQUESTS} requests or {SECONDS} s")
    print(f"{'request':<28}{'req/s':>9}{'ok':>7}{'failed':>8}{'seconds':>9}")
    for name, r in results.items():
        print(f"{name:<28}{r['rps']:>9}{r['ok']:>7}{r['failed']:>8}{r['seconds']:>9}")
    print(
        f"ingest / trivial: {ratio}; reports stored: {ingest['stored']} of {ingest['ok']} answered 200; "
        f"tasks enqueued (warm-up included): {ingest['enqueued']}"
    )
    ok = ratio >= 0.5 and ingest["failed"] == 0 and ingest["stored"] == ingest["ok"]
    target = "ingest at least half the trivial view's throughput, every report stored"
    print(f"{verdict(ok)}  {target}")
    (OUT / "ingest.json").write_text(
        json.dumps({"results": results, "ratio": ratio, "targets": {target: verdict(ok)}}, indent=2)
    )
    rows = [(name, r["rps"], None, f"{r['rps']} req/s") for name, r in results.items()]
    (OUT / "ingest.svg").write_text(
        bar_chart(f"Throughput under gunicorn ({WORKERS} workers): ingest / trivial = {ratio}", rows)
    )
    print(f"wrote {OUT / 'ingest.json'} and {OUT / 'ingest.svg'}")


if __name__ == "__main__":
    main()
