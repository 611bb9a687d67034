"""`make bench`: end-of-call-report ingest throughput, served by gunicorn against PostgreSQL, loaded by wrk.

Creates a database of its own (BENCH_DATABASE_URL's name + `_ingest`, marked as the bench's by tests/bench/seed.py;
it never drops a database without that mark), migrates it,
seeds an agency and its Vapi secret, starts gunicorn ((2 x cores) + 1 sync workers, as gunicorn advises;
tests/bench/wsgi.py, Redis cache) on a free local port, then loads it with wrk (Debian's, a C client that is
not the bottleneck; `apt-get install -y wrk`): signed end-of-call reports with distinct call ids from a Lua
script, at 1 and 8 connections, each series in alternating 5 s slices with the trivial bench/ping/ view (the
floor) so both see the same load from the rest of the machine. Reports requests/s, p50 and the ratio to the
floor, PASS/MISS by that ratio, and writes artifacts/bench/ingest.json and ingest.svg.

Processing stays in the background as in production: the inbox kicks a drain task (at most one a second, a
gate in the Redis cache) on a real Redis broker (db 13; eager Celery would process inside the request). No
worker runs during the measurement: on this 2-core machine it would take CPU from gunicorn, and the number
would measure the machine rather than the endpoint (tests/bench/drain.py measures the worker and sets the two
rates side by side). What was enqueued is counted, then the queue is deleted.
"""

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")

from tests.bench import seed as bench_seed  # noqa: E402
from tests.bench import served as serving  # noqa: E402

CONNECTIONS = int(os.environ.get("BENCH_INGEST_CONNECTIONS", "8"))
SLICE_SECONDS = int(os.environ.get("BENCH_SLICE_SECONDS", "5"))
SLICES = int(os.environ.get("BENCH_SLICES", "3"))
WRK, WORKERS = serving.WRK, serving.WORKERS  # Debian's wrk; gunicorn's (2 x cores) + 1 sync workers
# Sync workers only: gthread x 4 was tried and sped the trivial view up more than ingest (0.33x against 0.48x
# for sync on the same run).
SERVERS = ("sync workers",)
# Issue #12's goal for end-of-call ingest throughput against the floor (the trivial view).
TARGET_RATIO = 0.4
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
SECRET = "bench-ingest-vapi-secret"
OUT = ROOT / "artifacts" / "bench"

# A database of the bench's own, created and marked by it in main() (tests/bench/seed.py): the only kind it drops.
BENCH_DATABASE_URL = bench_seed.bench_database_url("ingest")
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


# Each wrk thread numbers its own reports (distinct call ids, so none is a duplicate) and counts the non-200s.
WRK_SCRIPT = (
    serving.LUA_THREADS
    + """
local counter = 0
function init(args)
  prefix, suffix, failed, n = args[1], args[2], 0, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Vapi-Secret"] = args[3]
end
function request()
  n = n + 1
  return wrk.format(nil, nil, nil, prefix .. tid .. "-" .. n .. suffix)
end
function response(status, headers, body)
  if status ~= 200 then failed = failed + 1 end
end
"""
    + serving.LUA_RESULT
)


def _body_parts(prefix: str) -> tuple[str, str]:
    """An end-of-call report split around its call number, for wrk to fill in."""
    body = end_of_call_report(0, prefix=prefix).decode()
    marker = f'"{prefix}-0"'
    head, tail = body.split(marker)
    return head + f'"{prefix}-', '"' + tail


TICKS = os.sysconf("SC_CLK_TCK")
# PostgreSQL's own processes (shared by everything on the server, so what they add is an upper bound).
POSTGRES_SERVER = ("checkpointer", "background writer", "walwriter", "autovacuum", "logical replication")


def _cpu_seconds(pid: int, *, reaped: bool = False, kernel: bool | None = None) -> float:
    """CPU of one process so far (0 once it is gone): user + system, or only system (`kernel` True: the syscalls,
    socket I/O, sleeps and wake-ups) or only user (False); `reaped` adds its children that exited."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    parts = [11, 12, 13, 14] if reaped else [11, 12]  # utime, stime, then the reaped children's
    if kernel is not None:
        parts = [n for n in parts if (n % 2 == 0) == kernel]
    return sum(int(fields[n]) for n in parts) / TICKS


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def cpu_snapshot(server_pid: int, database: str) -> dict:
    """CPU seconds so far of the processes that serve a request, by role: gunicorn (its workers, those it
    recycled (max_requests) included; user and system apart), wrk (this process's finished children), and per
    process the bench database's PostgreSQL backends, PostgreSQL's own processes (WAL writer, checkpointer...)
    and Redis (these two shared with anything else running on this machine)."""
    with open(f"/proc/{server_pid}/task/{server_pid}/children") as children:
        workers = [int(pid) for pid in children.read().split()]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Gunicorn in two parts: its Python (user) and the kernel's work for it (system: accept, socket reads and writes
    # to the client, PostgreSQL and Redis, the sleeps while they answer), since #12's ingest spends both.
    snapshot = {
        **{
            f"gunicorn {part}": _cpu_seconds(server_pid, reaped=True, kernel=kernel)
            + sum(_cpu_seconds(pid, kernel=kernel) for pid in workers)
            for part, kernel in (("user", False), ("system", True))
        },
        "wrk": children.ru_utime + children.ru_stime,
        "postgres backends": {},
        "postgres server": {},
        "redis": {},
    }
    for pid in filter(str.isdigit, os.listdir("/proc")):
        cmdline = _cmdline(pid)
        if cmdline.startswith("postgres: ") and f" {database} " in cmdline:
            role = "postgres backends"
        elif cmdline.startswith("postgres: ") and any(name in cmdline for name in POSTGRES_SERVER):
            role = "postgres server"
        elif cmdline.startswith("redis-server"):
            role = "redis"
        else:
            continue
        snapshot[role][pid] = _cpu_seconds(int(pid))
    return snapshot


def wal_snapshot() -> dict[str, float]:
    """The server's WAL counters (pg_stat_wal): flushes to disk (wal_sync), writes, bytes, full-page images.
    Server-wide: anything else committing on this PostgreSQL counts too, so per request they are an upper bound."""
    with psycopg.connect(BENCH_DATABASE_URL, autocommit=True) as conn:
        row = conn.execute("SELECT wal_sync, wal_write, wal_bytes, wal_fpi FROM pg_stat_wal").fetchone()
    return dict(zip(("syncs", "writes", "bytes", "full pages"), map(float, row), strict=True))


def cpu_spent(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per role between two snapshots; a process that ended in between counts nothing (a backend
    whose gunicorn worker was recycled: its last moments are missed, a small undercount)."""
    spent = {}
    for role, now in after.items():
        if isinstance(now, dict):
            spent[role] = sum(seconds - before[role].get(pid, 0.0) for pid, seconds in now.items())
        else:
            spent[role] = now - before[role]
    return spent


def wrk(url: str, *, connections: int, seconds: float, prefix: str) -> dict:
    """wrk for `seconds` at `connections` connections; requests/s of the 200s, p50 latency."""
    script = OUT / "ingest-wrk.lua"
    script.write_text(WRK_SCRIPT)
    head, tail = _body_parts(prefix)
    threads = min(connections, 2)
    out = subprocess.run(
        [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url, "--", head, tail, SECRET],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests, failed, micros, p50 = (int(v) for v in out.split("RESULT ")[1].split())
    return {"ok": requests - failed, "failed": failed, "seconds": micros / 1e6, "p50_us": p50}


def run(port: int, agency_id: str, prefix: str, server_pid: int) -> dict:
    """Ingest and the floor at 1 and CONNECTIONS connections, each in alternating SLICE_SECONDS slices, with the
    CPU each request cost every process that served it (a figure the rest of the machine's load hardly moves)."""
    database = urlsplit(BENCH_DATABASE_URL).path.lstrip("/")
    base = f"http://127.0.0.1:{port}"
    ingest_url, ping_url = f"{base}/api/webhooks/vapi/{agency_id}/", f"{base}/bench/ping/"
    # Every worker loads the app and opens its database connection before anything is timed.
    wrk(ingest_url, connections=2 * WORKERS, seconds=2, prefix=f"warmup-{prefix}")
    wrk(ping_url, connections=2 * WORKERS, seconds=2, prefix=f"warmup-{prefix}")
    series = {}
    for clients in (1, CONNECTIONS):
        totals = {
            name: {"ok": 0, "failed": 0, "seconds": 0.0, "p50s": [], "cpu": {}, "wal": {}}
            for name in ("floor", "ingest")
        }
        for n in range(SLICES):
            for name, url in (("floor", ping_url), ("ingest", ingest_url)):
                wal_before, before = wal_snapshot(), cpu_snapshot(server_pid, database)
                outcome = wrk(url, connections=clients, seconds=SLICE_SECONDS, prefix=f"{prefix}-c{clients}-{n}")
                after, wal_after = cpu_snapshot(server_pid, database), wal_snapshot()
                for key, value in wal_after.items():
                    totals[name]["wal"][key] = totals[name]["wal"].get(key, 0.0) + value - wal_before[key]
                for key in ("ok", "failed", "seconds"):
                    totals[name][key] += outcome[key]
                totals[name]["p50s"].append(outcome["p50_us"])
                for role, spent in cpu_spent(before, after).items():
                    totals[name]["cpu"][role] = totals[name]["cpu"].get(role, 0.0) + spent
        for total in totals.values():
            total["cpu_ms_per_request"] = {
                role: round(1000 * spent / max(total["ok"], 1), 3) for role, spent in total.pop("cpu").items()
            }
            total["cpu_ms_per_request"]["all"] = round(sum(total["cpu_ms_per_request"].values()), 3)
            total["wal_per_request"] = {
                key: round(value / max(total["ok"], 1), 2) for key, value in total.pop("wal").items()
            }
            total["rps"] = round(total["ok"] / total["seconds"], 1)
            total["p50_ms"] = round(sorted(total.pop("p50s"))[SLICES // 2] / 1000, 2)
            total["seconds"] = round(total["seconds"], 1)
        series[f"{clients} connection{'s' if clients > 1 else ''}"] = totals
    return series


def main():
    from integrations.models import WebhookEvent

    bench_seed.database_fresh("ingest")
    OUT.mkdir(parents=True, exist_ok=True)
    broker = redis.Redis.from_url(BROKER_URL)
    runs = {}
    try:
        call_command("migrate", verbosity=0)
        agency_id = seed()
        connections.close_all()
        with open(OUT / "ingest-gunicorn.log", "w") as log:
            for n, served in enumerate(SERVERS):
                port, prefix, queued = serving.free_port(), f"bench-ingest-{n}", broker.llen("celery")
                server = serving.gunicorn_start(port, log, os.environ.copy())
                try:
                    results = run(port, agency_id, prefix, server.pid)
                finally:
                    server.terminate()
                    server.wait(timeout=15)
                stored = WebhookEvent.objects.filter(unique_key__startswith=f"{prefix}-").count()
                enqueued = broker.llen("celery") - queued
                connections.close_all()
                runs[served] = {"series": results, "stored": stored, "enqueued": enqueued}
    finally:
        connections.close_all()
        bench_seed.database_drop(BENCH_DATABASE_URL)
        # Only what the enqueued tasks left: the queue and kombu's bindings of it.
        broker.delete("celery", "_kombu.binding.celery", "_kombu.binding_permanent.celery")
    report(runs)


def report(runs: dict) -> None:
    print(f"gunicorn {WORKERS} workers, PostgreSQL, wrk, {SLICES} alternating {SLICE_SECONDS} s slices per series")
    columns = f"{'req/s':>9}{'p50 ms':>9}{'ok':>8}{'failed':>8}{'x floor':>9}"
    print(f"{'served by':<16}{'connections':<16}{'request':<10}{columns}")
    targets, rows = {}, []
    for served, run_ in runs.items():
        accepted = 0
        for label, totals in run_["series"].items():
            floor, ingest = totals["floor"], totals["ingest"]
            ingest["x_floor"] = round(ingest["rps"] / (floor["rps"] or 1), 2)
            accepted += ingest["ok"]
            for name, r in totals.items():
                print(
                    f"{served:<16}{label:<16}{name:<10}{r['rps']:>9}{r['p50_ms']:>9}{r['ok']:>8}{r['failed']:>8}"
                    f"{r.get('x_floor', ''):>9}"
                )
                rows.append((f"{name}, {label}", r["rps"], None, f"{r['rps']} req/s"))
            for name, r in totals.items():
                cpu = ", ".join(f"{role} {ms}" for role, ms in r["cpu_ms_per_request"].items())
                print(f"{'':<16}{label:<16}{name:<10}CPU ms per request: {cpu}")
                wal = ", ".join(f"{key} {value}" for key, value in r["wal_per_request"].items())
                print(f"{'':<16}{label:<16}{name:<10}WAL per request (server-wide): {wal}")
            if label != "1 connection":
                ok = ingest["x_floor"] >= TARGET_RATIO and ingest["failed"] == 0
                targets[f"{served}, {label}: ingest {ingest['x_floor']}x the floor (goal >= {TARGET_RATIO}x)"] = ok
        # Warm-up reports are stored too; every accepted one must be.
        targets[f"{served}: every accepted report stored ({run_['stored']} stored, {accepted} accepted)"] = (
            run_["stored"] >= accepted
        )
        print(f"{served}: {run_['stored']} stored, {run_['enqueued']} drain tasks enqueued (kicks)")
    for target, ok in targets.items():
        print(f"{verdict(ok)}  {target}")
    (OUT / "ingest.json").write_text(
        json.dumps({"runs": runs, "targets": {t: verdict(ok) for t, ok in targets.items()}}, indent=2)
    )
    (OUT / "ingest.svg").write_text(bar_chart(f"Throughput under gunicorn ({WORKERS} workers), wrk", rows))
    print(f"wrote {OUT / 'ingest.json'} and {OUT / 'ingest.svg'}")


if __name__ == "__main__":
    main()
