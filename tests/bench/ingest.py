"""`make bench`: end-of-call-report ingest throughput, served by gunicorn against PostgreSQL.

Creates a throwaway database (agencyhub_bench_ingest), migrates it, seeds an agency and its Vapi
secret, starts gunicorn ((2 x cores) + 1 sync workers, as gunicorn advises; tests/bench/wsgi.py) on a
free local port, then fires a fixed number of signed end-of-call reports (distinct call ids) from a
bounded pool of threads, each with its own httpx client, within a time limit; the same for the trivial
bench/ping/ view, in alternating slices so both see the same load from the rest of the machine. Both
views are served the same way, by each gunicorn configuration of SERVERS in turn. Reports requests/s
and the ratio, PASS/MISS against the target per server, and writes artifacts/bench/ingest.json and ingest.svg.

Processing stays in the background as in production: the inbox enqueues each stored report on a real
Redis broker (db 3; eager Celery would process inside the request). No worker runs during the
measurement: on this 2-core machine it would take CPU from gunicorn, and the number would measure the
machine rather than the endpoint. What was enqueued is counted, then the queue is deleted.
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
SECONDS = float(os.environ.get("BENCH_INGEST_SECONDS", "12"))
THREADS = int(os.environ.get("BENCH_INGEST_THREADS", "8"))
SLICES = 4
# Gunicorn's own advice for sync workers: (2 x cores) + 1, so a worker waiting on a commit leaves the CPU to another.
WORKERS = int(os.environ.get("BENCH_INGEST_WORKERS", 2 * (os.cpu_count() or 1) + 1))
# Gunicorn configurations, as {label: threads per worker} (1: sync workers, more: gthread). gthread x 4 was
# tried: it speeds the trivial view up more than ingest (0.33x against 0.48x for sync on the same run).
SERVERS = {"sync workers": 1}
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


def gunicorn_start(port: int, log, threads: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "tests.bench.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={WORKERS}",
            *(["--worker-class=sync"] if threads == 1 else ["--worker-class=gthread", f"--threads={threads}"]),
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


def fire(url: str, bodies: list[bytes], seconds: float = SECONDS) -> dict:
    """POSTs every body once (or until the time limit) from THREADS threads; requests/s of the 200s."""
    numbers = itertools.count()  # next() on a count is atomic under the GIL: each body is sent once
    deadline = time.monotonic() + seconds
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


def run(port: int, agency_id: str, prefix: str) -> dict:
    base = f"http://127.0.0.1:{port}"
    ingest_url, ping_url = f"{base}/api/webhooks/vapi/{agency_id}/", f"{base}/bench/ping/"
    # Both workers load the app and open their database connection before anything is timed.
    warmup = [end_of_call_report(n, prefix=f"warmup-{prefix}") for n in range(4 * THREADS)]
    fire(ingest_url, warmup)
    fire(ping_url, warmup)
    bodies = [end_of_call_report(i, prefix=prefix) for i in range(REQUESTS)]
    # Alternating slices, so both views see the same load from whatever else runs on the machine.
    totals = {
        name: {"ok": 0, "failed": 0, "seconds": 0.0} for name in ("trivial JSON view", "end-of-call-report ingest")
    }
    size = -(-len(bodies) // SLICES)
    for start in range(0, len(bodies), size):
        for name, url in zip(totals, (ping_url, ingest_url), strict=True):
            outcome = fire(url, bodies[start : start + size], seconds=SECONDS / SLICES)
            for key in ("ok", "failed", "seconds"):
                totals[name][key] += outcome[key]
    for total in totals.values():
        total["seconds"] = round(total["seconds"], 2)
        total["rps"] = round(total["ok"] / total["seconds"], 1)
    return totals


def main():
    from integrations.models import WebhookEvent

    maintenance(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    maintenance(f"CREATE DATABASE {DB_NAME}")
    OUT.mkdir(parents=True, exist_ok=True)
    broker = redis.Redis.from_url(BROKER_URL)
    runs = {}
    try:
        call_command("migrate", verbosity=0)
        agency_id = seed()
        connections.close_all()
        with open(OUT / "ingest-gunicorn.log", "w") as log:
            for n, (served, threads) in enumerate(SERVERS.items()):
                port, prefix, queued = free_port(), f"bench-ingest-{n}", broker.llen("celery")
                server = gunicorn_start(port, log, threads)
                try:
                    results = run(port, agency_id, prefix)
                finally:
                    server.terminate()
                    server.wait(timeout=15)
                ingest = results["end-of-call-report ingest"]
                ingest["stored"] = WebhookEvent.objects.filter(unique_key__startswith=f"{prefix}-").count()
                ingest["enqueued"] = broker.llen("celery") - queued  # warm-up included
                connections.close_all()
                runs[served] = results
    finally:
        maintenance(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        # Only what the enqueued tasks left: the queue and kombu's bindings of it.
        broker.delete("celery", "_kombu.binding.celery", "_kombu.binding_permanent.celery")
    print(f"gunicorn {WORKERS} workers, PostgreSQL, {THREADS} client threads, {REQUESTS} requests or {SECONDS} s each")
    print(f"{'served by':<30}{'request':<28}{'req/s':>9}{'ok':>7}{'failed':>8}{'stored':>8}{'enqueued':>10}")
    targets, rows = {}, []
    for served, results in runs.items():
        trivial, ingest = results["trivial JSON view"], results["end-of-call-report ingest"]
        ingest["ratio"] = round(ingest["rps"] / (trivial["rps"] or 1), 2)
        for name, r in results.items():
            print(
                f"{served:<30}{name:<28}{r['rps']:>9}{r['ok']:>7}{r['failed']:>8}"
                f"{r.get('stored', ''):>8}{r.get('enqueued', ''):>10}"
            )
            rows.append((f"{name} ({served})", r["rps"], None, f"{r['rps']} req/s"))
        ok = ingest["ratio"] >= 0.5 and ingest["failed"] == 0 and ingest["stored"] == ingest["ok"]
        target = f"{served}: ingest ({ingest['ratio']}x) at least half the trivial view's throughput, all stored"
        targets[target] = verdict(ok)
    for target, outcome in targets.items():
        print(f"{outcome}  {target}")
    (OUT / "ingest.json").write_text(json.dumps({"runs": runs, "targets": targets}, indent=2))
    (OUT / "ingest.svg").write_text(bar_chart(f"Throughput under gunicorn ({WORKERS} workers)", rows))
    print(f"wrote {OUT / 'ingest.json'} and {OUT / 'ingest.svg'}")


if __name__ == "__main__":
    main()
