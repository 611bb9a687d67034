"""Background drain rate: end-of-call reports processed per second by a real Celery worker, as production runs it.

Stores BENCH_DRAIN_EVENTS end-of-call reports (the ingest bench's, tests/bench/ingest.py) in a bench database's
inbox (tests/bench/seed.py; BENCH_CALLS picks which, seeded by tests/bench/pages.py) without kicking any worker,
then starts the workers as production runs them (docs/deploy.md): `celery -A agencyhub worker -X followups` with one
process per core, and `-Q followups` with a thread pool for the after-call work that waits on GHL
(agencyhub/queues.py), on the bench's Redis broker (BENCH_BROKER_URL, whose queues are deleted afterwards) and cache
(BENCH_CACHE_URL), and times it two ways:

- batch drain (what the web tier does now): one kick, the worker's drain tasks claim the reports in batches; each
  report's call was stored before it, as production's live path stores a call when it starts (the queued call
  start of an assistant-request, its status-update), so the report merges into a stored call;
- batch-new: the same, each report's call first seen in its report (the drain creates it);
- one task per report (per-event, what the web tier did before): one webhook_process_task message per stored
  report, calls stored before them as in batch.

Each is timed from the first message to the last report recorded as processed, and until the queues are empty:
no task waiting and none taken but unfinished (acknowledged late, a task stays unacknowledged until it has run),
but for a drain's look again, which waits for its due time rather than for a worker.

By default the reports name a seeded assistant (BENCH_DRAIN_ASSISTANT, asst-bench-0), so each call has a client as
in production and its follow-ups run (GHL log, proof check, write-back; the bench's clients have no GHL connection,
so the log and write-back end early, without GHL); BENCH_DRAIN_ASSISTANT=none names no assistant of the agency
(calls without a client, no follow-ups). Two rates are printed, each beside the accept rate of the web tier that
tests/bench/ingest.py last measured (artifacts/bench/ingest.json, 8 connections), each with its own verdict (PASS
when it keeps up): the rate at which calls appear (reports processed) and the rate at which the queues empty
(follow-ups done). Both are measured alone on this machine, each with all of its cores.

Then one batch of reports is drained in this process and its follow-up task run under cProfile: how much of the
follow-ups' CPU is the in-process GHL sandbox (integrations/sandbox, integrations/ghl/sandbox*), which production
pays as network wait instead. The reports and their calls are deleted afterwards, so the seeded database stays as
it was.
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
# A burst of several seconds' work: with a few hundred, the worker's start and the last task's run weigh on the rate.
EVENTS = int(os.environ.get("BENCH_DRAIN_EVENTS", "3000"))
# The assistant the reports name: by default a seeded one, so each call has a client and follow-ups, as in
# production; "none" keeps the report's own (no assistant of the agency: calls without a client, no follow-ups).
ASSISTANT = os.environ.get("BENCH_DRAIN_ASSISTANT", "asst-bench-0")
ASSISTANT = "" if ASSISTANT == "none" else ASSISTANT
PROFILED = int(os.environ.get("BENCH_DRAIN_PROFILED", "200"))
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/12")
# docs/deploy.md: each worker runs one process per core (Celery's default --concurrency).
CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", os.cpu_count() or 1))
# The after-call worker's threads (docs/deploy.md): its tasks mostly wait on GHL.
FOLLOWUP_THREADS = int(os.environ.get("BENCH_FOLLOWUP_THREADS", "8"))
# BENCH_DRAIN_WORKERS=one: a single worker serving every queue with one process per core (development's, and
# production's before the after-call queue), to compare.
ONE_WORKER = os.environ.get("BENCH_DRAIN_WORKERS", "split") == "one"
MODES = [m for m in os.environ.get("BENCH_DRAIN_MODES", "batch,batch-new,per-event,backlog").split(",") if m]
# The backlog mode: BACKLOG_EVENTS reports of a client connected to a sandbox GHL location that answers each request
# after BENCH_GHL_LATENCY_MS and counts GHL's rate limit (100 requests per 10 s), drained first; while their GHL
# work is under way, EVENTS more reports (of ASSISTANT's client, not connected) are timed until they appear.
BACKLOG_ASSISTANT = "asst-bench-1"
BACKLOG_EVENTS = int(os.environ.get("BENCH_DRAIN_BACKLOG_EVENTS", "200"))
GHL_LATENCY_MS = int(os.environ.get("BENCH_GHL_LATENCY_MS", "150"))
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
    # GHL is the in-process sandbox (only the backlog mode's client is connected to it); DEBUG stays off.
    SANDBOX="True",
)

# The worker's environment, taken before tests/bench/ingest.py (imported for its reports) points DATABASE_URL
# at the ingest bench's database.
WORKER_ENV = {**os.environ, "GHL_SANDBOX_LATENCY_MS": str(GHL_LATENCY_MS), "GHL_SANDBOX_RATE_LIMIT": "True"}

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402

from tests.bench.ingest import end_of_call_report  # noqa: E402

QUEUES = ("celery", "followups")
QUEUE_KEYS = (
    *QUEUES,
    *(f"_kombu.binding{kind}.{queue}" for queue in QUEUES for kind in ("", "_permanent")),
    "unacked",
    "unacked_index",
)
DONE = ("processed", "failed", "ignored")


def stored_reports(
    agency, prefix: str, *, started: bool = False, assistant_id: str | None = None, events: int | None = None
) -> list[int]:
    """`events` (EVENTS) reports naming `assistant_id` (ASSISTANT) in the inbox, as the endpoint stores them, with no
    worker told about them; `started`: each report's call stored first, as the live path's queued call start stores
    it (voice.live.records)."""
    from integrations.inbox import webhook_store
    from voice.models import Assistant, Call

    assistant_id = ASSISTANT if assistant_id is None else assistant_id
    events = EVENTS if events is None else events
    if started:
        assistant = Assistant.objects.filter(client__agency=agency, vapi_id=assistant_id).first()
        Call.objects.bulk_create(
            Call(
                agency=agency,
                vapi_call_id=f"{prefix}-{i}",
                assistant=assistant,
                client_id=assistant.client_id if assistant else None,
                caller_number="+13125550142",
            )
            for i in range(events)
        )
    ids = []
    with mock.patch("integrations.inbox.webhook_kick"), transaction.atomic():
        for i in range(events):
            event, _ = webhook_store(
                provider="vapi",
                event_type="end-of-call-report",
                unique_key=f"{prefix}-{i}",
                body=_named(json.loads(end_of_call_report(i, prefix=prefix))["message"], assistant_id),
                headers={},
                agency=agency,
            )
            ids.append(event.pk)
    return ids


def _named(message: dict, assistant_id: str) -> dict:
    if assistant_id:
        message["call"]["assistantId"] = assistant_id
    return message


def workers_start(log) -> list[subprocess.Popen]:
    """The inbox's worker (one process per core, every queue but the after-call one) and the after-call worker
    (a thread pool), as docs/deploy.md runs them; returned once both answer a ping."""
    from agencyhub.celery import app

    celery = str(Path(sys.executable).with_name("celery"))
    common = [celery, "-A", "agencyhub", "worker", "--loglevel=WARNING", "--without-mingle"]
    if ONE_WORKER:
        commands = [[*common, f"--concurrency={CONCURRENCY}", f"--hostname=bench-drain-{os.getpid()}@%h"]]
    else:
        commands = [
            [*common, "-X", "followups", f"--concurrency={CONCURRENCY}", f"--hostname=bench-drain-{os.getpid()}@%h"],
            [
                *common,
                "-Q",
                "followups",
                "--pool=threads",
                f"--concurrency={FOLLOWUP_THREADS}",
                f"--hostname=bench-followups-{os.getpid()}@%h",
            ],
        ]
    workers = [subprocess.Popen(c, cwd=ROOT, env=WORKER_ENV, stdout=log, stderr=subprocess.STDOUT) for c in commands]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for worker in workers:
            if worker.poll() is not None:
                workers_stop(workers)
                raise SystemExit(f"a Celery worker exited with {worker.returncode}; see {log.name}")
        if len(app.control.ping(timeout=0.5)) >= len(workers):  # the bench's own broker: only these answer
            return workers
    workers_stop(workers)
    raise SystemExit(f"the Celery workers did not answer within 120 s; see {log.name}")


def workers_stop(workers: list[subprocess.Popen], *, cold: bool = False) -> None:
    """Celery's warm shutdown (running tasks finish), or its cold one (`cold`: they are dropped; a thread pool
    cannot drop its threads' tasks, so its process is killed: it has no children)."""
    for worker in workers:
        if worker.poll() is None:
            if cold and "--pool=threads" in worker.args:
                worker.kill()
            else:
                worker.send_signal(signal.SIGQUIT if cold else signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def queues_busy(broker) -> bool:
    """Whether a task waits in a queue, or was taken and has not finished (with late acknowledgement it stays in
    kombu's `unacked` hash until it has run); a task held for its due time (a drain's look again) does not count."""
    if any(broker.llen(queue) for queue in QUEUES):
        return True
    for raw in broker.hvals("unacked"):
        message = json.loads(raw)[0]
        if not (message.get("headers") or {}).get("eta"):
            return True
    return False


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


def cpu_used(workers: list[subprocess.Popen]) -> float:
    """CPU seconds so far of the workers' processes: what processing costs the machine in Python, whatever
    else loads it meanwhile (PostgreSQL's share is not counted)."""
    return sum(_cpu_seconds(pid) for worker in workers for pid in _process_tree(worker.pid))


def machine_ticks() -> tuple[int, int]:
    """(busy, all) CPU ticks of the whole machine so far (/proc/stat): busy is all but idle and I/O wait."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


def backends_cpu(database: str, *, own: int) -> float:
    """CPU seconds so far of the bench database's PostgreSQL backends but this process's own (`own`, its polling)."""
    seconds = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmdline.startswith("postgres: ") and f" {database} " in cmdline and int(pid) != own:
            seconds += _cpu_seconds(int(pid))
    return seconds


def timed_drain(mode: str, ids: list[int], broker, workers: list[subprocess.Popen]) -> dict:
    """Seconds from the first message to the last report processed, and until the queue is empty; CPU
    milliseconds per report spent by the worker and by its PostgreSQL backends, and how busy the machine was,
    over the same span."""
    from django.utils import timezone

    from integrations.models import WebhookEvent
    from integrations.tasks import webhook_drain_task, webhook_process_task

    events = WebhookEvent.objects.filter(pk__in=ids)
    connection.ensure_connection()
    database, own = connection.settings_dict["NAME"], connection.connection.info.backend_pid
    cpu_before, backends_before, ticks_before = cpu_used(workers), backends_cpu(database, own=own), machine_ticks()
    started_at, started = timezone.now(), time.perf_counter()
    if mode.startswith("batch"):
        webhook_drain_task.delay()
    else:
        for event_id in ids:
            webhook_process_task.delay(event_id)
    deadline = started + 600
    # Polled for the first report not done in the reports' range of ids (they were stored together, nothing else
    # is), not by counting the ids: an IN list of 3,000 cost this process and PostgreSQL ~50 ms of CPU a poll,
    # a third of a core taken from the worker it measures.
    waiting = WebhookEvent.objects.filter(pk__gte=min(ids), pk__lte=max(ids)).exclude(status__in=DONE)
    while waiting.exists() and time.perf_counter() < deadline:
        time.sleep(0.1)
    done = events.filter(status__in=DONE)
    last = done.aggregate(last=Max("processed_at"))["last"] or timezone.now()
    processed = done.filter(status="processed").count()
    while queues_busy(broker) and time.perf_counter() < deadline:
        time.sleep(0.05)
    empty = time.perf_counter() - started
    busy, ticks = (after - before for after, before in zip(machine_ticks(), ticks_before, strict=True))
    backends = backends_cpu(database, own=own) - backends_before
    return {
        "worker_cpu_ms_per_report": round((cpu_used(workers) - cpu_before) * 1000 / len(ids), 2),
        "postgres_cpu_ms_per_report": round(backends * 1000 / len(ids), 2),
        "machine_busy": round(busy / ticks, 3) if ticks else None,
        "processed": processed,
        "not_processed": len(ids) - processed,
        "seconds": round((last - started_at).total_seconds(), 2),
        "queue_empty_seconds": round(empty, 2),
    }


def backlog_client_connected(agency) -> None:
    """BACKLOG_ASSISTANT's client connected to a sandbox GHL location, through the consent flow (once per database)."""
    from django.core.exceptions import ImproperlyConfigured

    from integrations.ghl.demo import sandbox_connect
    from integrations.ghl.models import ConnectionStatus, GhlAppCredentials, GhlConnection
    from integrations.ghl.sandbox import sandbox_locations, sandbox_seed
    from voice.models import Assistant

    client = Assistant.objects.select_related("client").get(client__agency=agency, vapi_id=BACKLOG_ASSISTANT).client
    try:
        connection = GhlConnection.objects.filter(client=client, status=ConnectionStatus.CONNECTED).first()
        GhlAppCredentials.objects.filter(agency=agency).first()
    except ImproperlyConfigured:  # stored under other FIELD_ENCRYPTION_KEYS by an earlier run: connected anew
        GhlConnection.objects.filter(client=client).only("pk", "client_id").delete()  # read without the secrets
        GhlAppCredentials.objects.filter(agency=agency).only("pk").delete()
        connection = None
    if connection is None:
        sandbox_seed()
        sandbox_connect(client=client, location_id=sandbox_locations()[0]["id"])


def _processed_wait(ids: list[int], deadline: float) -> None:
    from integrations.models import WebhookEvent

    # Polled for the first report not done in the reports' range of ids (they were stored together, nothing else
    # is), not by counting the ids: an IN list of 3,000 cost this process and PostgreSQL ~50 ms of CPU a poll,
    # a third of a core taken from the worker it measures.
    waiting = WebhookEvent.objects.filter(pk__gte=min(ids), pk__lte=max(ids)).exclude(status__in=DONE)
    while waiting.exists() and time.perf_counter() < deadline:
        time.sleep(0.1)


def timed_backlog(agency, prefix: str, broker) -> dict:
    """BACKLOG_EVENTS reports of the GHL-connected client drained; a second later, their calls' GHL work under way
    (notes, write-backs, each request answered after GHL_LATENCY_MS), EVENTS reports of another client stored and
    kicked: seconds until they are all processed, and how much GHL work was still queued or running then."""
    from django.utils import timezone

    from integrations.models import WebhookEvent
    from integrations.tasks import webhook_drain_task

    backlog_client_connected(agency)
    backlog = stored_reports(
        agency, f"{prefix}-ghl", started=True, assistant_id=BACKLOG_ASSISTANT, events=BACKLOG_EVENTS
    )
    webhook_drain_task.delay()
    _processed_wait(backlog, time.perf_counter() + 120)
    time.sleep(1.0)
    ids = stored_reports(agency, prefix, started=True)
    started_at, started = timezone.now(), time.perf_counter()
    webhook_drain_task.delay()
    _processed_wait(ids, started + 300)
    done = WebhookEvent.objects.filter(pk__in=ids, status__in=DONE)
    last = done.aggregate(last=Max("processed_at"))["last"] or timezone.now()
    processed = done.filter(status="processed").count()
    return {
        "processed": processed,
        "not_processed": len(ids) - processed,
        "seconds": round((last - started_at).total_seconds(), 2),
        "backlog_calls": len(backlog),
        "ghl_latency_ms": GHL_LATENCY_MS,
        "ghl_tasks_left": broker.llen("followups") + broker.hlen("unacked"),
    }


SANDBOX_FILES = ("integrations/sandbox/", "integrations/ghl/sandbox")


def followups_profile(agency, prefix: str) -> dict | None:
    """PROFILED reports drained in this process in batches of 50, then their follow-up tasks run under cProfile
    (the first batch's unprofiled, to warm the process): CPU ms per report of the follow-ups, and the share spent
    in the in-process GHL sandbox's own functions (and what they call)."""
    import cProfile
    import pstats

    from integrations.inbox import webhook_process_batch
    from voice.calls.tasks import call_followups_task

    if not ASSISTANT or not PROFILED:
        return None
    global EVENTS
    EVENTS, events = PROFILED, EVENTS
    try:
        stored_reports(agency, prefix)
    finally:
        EVENTS = events
    published = []
    with mock.patch.object(call_followups_task, "delay", side_effect=published.append):
        while webhook_process_batch(claim=f"{prefix}-claim", limit=50):
            pass
    # The first batch warms the process (imports, URL patterns) unprofiled, as a worker long up is warm.
    call_followups_task(published[0])
    profiled = published[1:]
    reports = len({i for batch in profiled for ids in batch.values() for i in ids}) or 1
    profiler = cProfile.Profile()
    cpu = time.process_time()
    profiler.enable()
    for batch in profiled:
        call_followups_task(batch)
    profiler.disable()
    cpu = time.process_time() - cpu
    if os.environ.get("BENCH_DRAIN_PROFILE_TOP"):
        pstats.Stats(profiler).sort_stats("tottime").print_stats(int(os.environ["BENCH_DRAIN_PROFILE_TOP"]))
    stats = pstats.Stats(profiler).stats
    total = sum(tt for _, _, tt, _, _ in stats.values()) or 1e-9
    # Cumulative time of the sandbox's outermost functions: each entered from outside the sandbox.
    sandbox = sum(
        ct
        for (path, _, _), (_, _, _, ct, callers) in stats.items()
        if any(f in path for f in SANDBOX_FILES) and not any(any(f in c[0] for f in SANDBOX_FILES) for c in callers)
    )
    return {
        "reports": reports,
        "followups_cpu_ms_per_report": round(cpu * 1000 / reports, 2),
        "sandbox_share": round(min(sandbox / total, 1.0), 3),
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
        workers = workers_start(log)
        try:
            for mode in MODES:
                prefix = f"bench-drain-{mode}-{int(time.time())}"
                prefixes.append(prefix)
                if mode == "backlog":
                    results[mode] = timed_backlog(agency, prefix, broker)
                    continue
                ids = stored_reports(agency, prefix, started=mode != "batch-new")
                results[mode] = timed_drain(mode, ids, broker, workers)
                calls = Call.objects.filter(agency=agency, vapi_call_id__startswith=prefix).count()
                results[mode]["calls"] = calls
        finally:
            # After the backlog mode, its GHL work would go on for minutes: the workers stop without finishing it.
            workers_stop(workers, cold="backlog" in results)
            broker.delete(*QUEUE_KEYS)
            prefixes.append(f"bench-drain-profile-{int(time.time())}")
            try:
                profiled = followups_profile(agency, prefixes[-1])
            except Exception as exc:  # noqa: BLE001 - the drain's figures stand without the profile
                print(f"drain: the follow-ups profile failed: {exc!r}")
                profiled = None
            for prefix in prefixes:
                Call.objects.filter(agency=agency, vapi_call_id__startswith=prefix).delete()
                WebhookEvent.objects.filter(unique_key__startswith=prefix).delete()
    report(results, profiled)


def report(results: dict, profiled: dict | None) -> None:
    from tests.bench.chart import bar_chart, verdict

    accepting = accept_rate()
    named = f"naming {ASSISTANT}" if ASSISTANT else "naming no assistant of the agency (calls without a client)"
    workers = (
        f"one Celery worker serving every queue with {CONCURRENCY} processes"
        if ONE_WORKER
        else f"Celery workers: the inbox's with {CONCURRENCY} processes, the after-call one with {FOLLOWUP_THREADS} "
        "threads"
    )
    print(f"drain: {EVENTS} stored end-of-call reports {named}; {workers}")
    print("  (batch, per-event: each call stored at its start, as production; batch-new: first seen in its report)")
    verdicts = {}
    for mode, r in results.items():
        r["per_second"] = round(r["processed"] / r["seconds"], 1) if r["seconds"] > 0 else 0.0
        if mode == "backlog":
            print(
                f"  {mode:<10} calls appear at {r['per_second']}/s: {r['processed']} processed in {r['seconds']} s "
                f"({r['not_processed']} not) while the GHL work of {r['backlog_calls']} earlier calls is under way "
                f"(GHL answering in {r['ghl_latency_ms']} ms, 100 requests per 10 s; {r['ghl_tasks_left']} of its "
                "tasks still queued or running then)"
            )
            continue
        empty = r["queue_empty_seconds"]
        r["followed_up_per_second"] = round(r["processed"] / empty, 1) if empty > 0 else 0.0
        print(
            f"  {mode:<10} calls appear at {r['per_second']}/s: {r['processed']} processed in {r['seconds']} s "
            f"({r['not_processed']} not)"
        )
        print(
            f"  {'':<10} queue empty at {r['followed_up_per_second']}/s: after {empty} s "
            "(GHL logs, proof checks, write-backs done)"
        )
        print(
            f"  {'':<10} CPU per report, follow-up tasks included: worker {r['worker_cpu_ms_per_report']} ms, "
            f"its PostgreSQL backends {r['postgres_cpu_ms_per_report']} ms; machine {r['machine_busy']:.0%} busy "
            "until the queue was empty"
        )
    if profiled:
        print(
            f"  follow-ups of {profiled['reports']} reports run in this process under cProfile: "
            f"{profiled['followups_cpu_ms_per_report']} ms CPU per report, of which "
            f"{profiled['sandbox_share']:.0%} in the in-process GHL sandbox (production waits on GHL's network "
            "instead)"
        )
    timed = {mode: r for mode, r in results.items() if mode != "backlog"}
    main_mode = timed.get("batch", next(iter(timed.values()), None))
    if accepting is None:
        print("  accepting: no artifacts/bench/ingest.json (run tests/bench/ingest.py): no verdict")
        ok = None
    else:
        ok = True
        for label, key in (("calls appear", "per_second"), ("queue empties", "followed_up_per_second")):
            if main_mode is None:
                break
            rate = main_mode[key]
            verdicts[key] = verdict(rate >= accepting)
            ok = ok and rate >= accepting
            print(f"{verdicts[key]}  {label} at {rate}/s >= accepting {accepting}/s (ingest.py, 8 connections)")
        if "backlog" in results:
            rate = results["backlog"]["per_second"]
            verdicts["backlog"] = verdict(rate >= accepting)
            ok = ok and rate >= accepting
            print(
                f"{verdicts['backlog']}  calls appear while earlier calls' GHL work is under way at {rate}/s >= "
                f"accepting {accepting}/s"
            )
    rows = [("web tier accepts (ingest.py)", accepting, None, f"{accepting}/s")] if accepting else []
    for mode, r in results.items():
        rows.append((f"{mode}: calls appear", r["per_second"], None, f"{r['per_second']}/s"))
        if "followed_up_per_second" in r:
            rows.append(
                (f"{mode}: queues empty", r["followed_up_per_second"], None, f"{r['followed_up_per_second']}/s")
            )
    if rows:
        (OUT / "drain.svg").write_text(
            bar_chart("End-of-call reports per second: accepted, and processed by the workers", rows)
        )
    (OUT / "drain.json").write_text(
        json.dumps(
            {
                "calls_in_database": CALLS,
                "events": EVENTS,
                "concurrency": CONCURRENCY,
                "followup_threads": None if ONE_WORKER else FOLLOWUP_THREADS,
                "modes": results,
                "assistant": ASSISTANT or None,
                "accepting_per_second": accepting,
                "verdict": None if ok is None else verdict(ok),
                "verdicts": verdicts,
                "followups_profile": profiled,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
