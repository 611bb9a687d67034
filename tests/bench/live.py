"""`make bench`: Vapi's tool calls during a live call, server time and GHL requests, beside a trivial view.

In-process through Django's test client (server time only, no network) on a throwaway database of its own
(PostgreSQL: BENCH_DATABASE_URL's name + `_live`, created and marked by tests/bench/seed.py, dropped after, and
never one without that mark; SQLite when DATABASE_URL is not PostgreSQL: an in-memory test database), with
the GHL sandbox as GHL. Measures `check_availability` warm (slots cached) and cold (the calendar's
cache invalidated before each call), `book_appointment`, and `bench/ping/` (tests/bench/urls.py), all
posted the same way. GHL requests are counted at the sandbox transport, where the network would be.

Each measured tool call belongs to a call that was started first, untimed, the way Vapi starts one: a
`status-update` "in-progress" (stored, then processed, which creates the Call and warms the slot
cache; Celery runs eagerly here, so that happens inside the untimed request). The tool call is the
caller's first question on that call, as in real traffic.
Then the production layout (tests/bench/served.py): gunicorn ((2 x cores) + 1 sync workers, tests/bench/wsgi.py)
on the same database and the bench's Redis cache, Celery publishing to the bench's broker (no worker runs: on
this 2-core machine it would take CPU from gunicorn), loaded by Debian's wrk at 1 and 8 connections, each
series in alternating 5 s slices with the trivial bench/ping/ view (the floor): warm `check_availability` on
calls already started (a fresh tool call id every request; the slots cached, as after a call start), and
`assistant-request` (a fresh call every request on an assigned number, the caller's GHL facts cached: GHL's
own latency is not the server's cost). Throughput and p50 are read as ratios to the floor, PASS/MISS by ratio.
What the load queued (tool-call records, the calls assistant-requests started) is flushed after it, as the beat
task would, and every answered request must have left its row.

Prints tables and PASS/MISS per target; writes artifacts/bench/live.json and live.svg.
"""

import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")
# GHL is the in-process sandbox; with DEBUG off it is only on when asked for.
os.environ["SANDBOX"] = "True"

from tests.bench import seed as bench_seed  # noqa: E402

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
if ON_POSTGRES:
    os.environ["DATABASE_URL"] = bench_seed.database_fresh("live")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from tests.bench import served as serving  # noqa: E402
from tests.bench.chart import bar_chart, verdict  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_LIVE_ROUNDS", "200"))
COLD_ROUNDS = int(os.environ.get("BENCH_COLD_ROUNDS", "60"))
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "12"))
SECRET = "bench-vapi-secret"
LOCATION_ID = "sbxLocChicago0000001"
VAPI_ASSISTANT_ID = "asst-bench-1"
OUT = ROOT / "artifacts" / "bench"
SLICE_SECONDS = int(os.environ.get("BENCH_SLICE_SECONDS", "5"))
SLICES = int(os.environ.get("BENCH_SLICES", "3"))
CONNECTIONS = (1, 8)
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
# Calls started before the load: each warm check_availability is a new tool call on one of them.
STARTED_CALLS = 500
PHONE_ID, PHONE_NUMBER, CALLER = "pn-bench-1", "+13125550100", "+13125550142"
# Issue #12's goals, as ratios to the floor: throughput at 8 connections, p50 at one.
GOALS = {"check_availability": 0.5, "assistant-request": 0.4}
WARM_P50_GOAL = 2.0


def seed():
    from integrations.ghl.demo import sandbox_connect
    from integrations.ghl.sandbox import sandbox_seed
    from tenants.models import User
    from tenants.services import agency_create, client_create
    from voice.assistants import services as assistants_services
    from voice.assistants.selectors import client_calendars
    from voice.models import LiveTool, VapiAccount

    owner = User.objects.create_user(email="owner@bench.test", password="bench")
    agency = agency_create(name="Bench Agency", owner=owner)
    client = client_create(agency=agency, name="Bench Dental", time_zone="America/Chicago")
    sandbox_seed()
    sandbox_connect(client=client, location_id=LOCATION_ID)
    calendars = {c["name"]: c["id"] for c in client_calendars(client=client)}
    # Pushing the assistant to Vapi is not what is measured here.
    with mock.patch("voice.assistants.tasks.assistant_push_task.delay"):
        assistant = assistants_services.assistant_create(
            client=client,
            author=None,
            name="Front desk",
            first_message="Hello",
            system_prompt="You work for {client_name}.",
            time_zone="America/Chicago",
            live_tools=[t.value for t in LiveTool],
            calendars=[
                {"calendar_id": calendars["Cleaning"], "calendar_name": "Cleaning", "spoken_name": "cleaning"},
                {
                    "calendar_id": calendars["Consultation"],
                    "calendar_name": "Consultation",
                    "spoken_name": "consultation",
                },
            ],
        )
    assistant.vapi_id = VAPI_ASSISTANT_ID
    assistant.save()
    VapiAccount.objects.update_or_create(agency=agency, defaults={"webhook_secret": SECRET})
    return agency, client, calendars["Cleaning"]


def tool_call_body(call_id, tool_id, name, args, caller="+13125550142"):
    message = {
        "type": "tool-calls",
        "timestamp": int(time.time() * 1000),
        "call": {"id": call_id, "assistantId": VAPI_ASSISTANT_ID, "customer": {"number": caller}},
        "toolCallList": [{"id": tool_id, "type": "function", "function": {"name": name, "arguments": args}}],
    }
    return json.dumps({"message": message})


def call_started(http, url, call_id):
    """What Vapi sends when a call starts; untimed."""
    message = {
        "type": "status-update",
        "status": "in-progress",
        "timestamp": int(time.time() * 1000),
        "call": {"id": call_id, "assistantId": VAPI_ASSISTANT_ID, "customer": {"number": "+13125550142"}},
    }
    response = http.post(
        url, data=json.dumps({"message": message}), content_type="application/json", HTTP_X_VAPI_SECRET=SECRET
    )
    assert response.status_code == 200, response.content


def answered(response) -> str:
    """The tool's spoken result; an error answer is a broken setup, not a number worth reporting."""
    assert response.status_code == 200, response.content
    (entry,) = response.json()["results"]
    assert "result" in entry, entry
    return entry["result"]


def timed_post(http, url, body) -> tuple[float, object]:
    start = time.perf_counter()
    response = http.post(url, data=body, content_type="application/json", HTTP_X_VAPI_SECRET=SECRET)
    return (time.perf_counter() - start) * 1000, response


def summary(timings, requests) -> dict:
    timings = sorted(timings)
    return {
        "rounds": len(timings),
        "p50_ms": round(statistics.median(timings), 2),
        "p99_ms": round(timings[max(int(len(timings) * 0.99) - 1, 0)], 2),
        "ghl_requests_mean": round(statistics.mean(requests), 2),
        "ghl_requests_max": max(requests),
    }


def measure(http, url, bodies, *, ghl, before=None, check=None, beside=None):
    """Server time and GHL requests per POST; `before(body)` runs untimed before each.

    With `beside` (the trivial view's URL), that view is timed right after each request with the same body,
    so both series see the same load on a shared machine; returns (series, beside series) then."""
    timings, requests, beside_timings = [], [], []
    for body in bodies:
        if before:
            before(body)
        sent = ghl.call_count
        elapsed, response = timed_post(http, url, body)
        timings.append(elapsed)
        requests.append(ghl.call_count - sent)
        if check:
            check(response)
        if beside:
            beside_timings.append(timed_post(http, beside, body)[0])
    if beside:
        return summary(timings, requests), summary(beside_timings, [0])
    return summary(timings, requests)


def queries_of(http, url, body, before=None) -> int:
    if before:
        before(body)
    with CaptureQueriesContext(connection) as queries:
        http.post(url, data=body, content_type="application/json", HTTP_X_VAPI_SECRET=SECRET)
    return len(queries.captured_queries)


def booking_slots(client, calendar_id, first_day, count):
    """Free slots at least two hours apart, so one booking never takes another's slot."""
    from zoneinfo import ZoneInfo

    from integrations.ghl.tokens import ghl_client_for
    from voice.live.slots import slots_from_ghl

    with ghl_client_for(client_id=client.pk) as ghl:
        by_day = slots_from_ghl(
            ghl=ghl, calendar_id=calendar_id, tz=ZoneInfo(client.time_zone), first_day=first_day, days=14
        )
    picked = []
    for moment in (m for day in sorted(by_day) for m in by_day[day]):
        if not picked or moment - picked[-1] >= timedelta(hours=2):
            picked.append(moment)
    assert len(picked) >= count, f"only {len(picked)} free slots to book"
    return picked[:count]


def run():
    from zoneinfo import ZoneInfo

    from integrations.ghl.sandbox import GhlSandboxTransport
    from voice.live.slots import slots_invalidate
    from voice.live.speech import requested_day

    agency, client, cleaning_id = seed()
    url = f"/api/webhooks/vapi/{agency.public_id}/"
    tz = ZoneInfo(client.time_zone)
    tuesday = requested_day("tuesday", tz, today=timezone.now().astimezone(tz).date())
    args = json.dumps({"date": tuesday.isoformat(), "service": "cleaning"})
    checks = [tool_call_body(f"bench-check-{i}", f"t{i}", "check_availability", args) for i in range(ROUNDS + 1)]
    colds = [tool_call_body(f"bench-cold-{i}", f"c{i}", "check_availability", args) for i in range(COLD_ROUNDS + 1)]
    slots = booking_slots(client, cleaning_id, tuesday + timedelta(days=1), BOOKINGS + 1)
    bookings = [
        tool_call_body(
            f"bench-book-{i}",
            f"b{i}",
            "book_appointment",
            json.dumps({"start_time": slot.isoformat(), "name": f"Caller {i}", "service": "cleaning"}),
            caller=f"+1312555{i:04}",
        )
        for i, slot in enumerate(slots)
    ]

    def start(body):
        call_started(http, url, json.loads(body)["message"]["call"]["id"])

    def start_cold(body):
        start(body)
        slots_invalidate(client_id=client.pk, calendar_id=cleaning_id)

    def booked(response):
        assert answered(response).startswith("You're booked"), response.content

    http = Client(HTTP_HOST="127.0.0.1")
    ghl = GhlCounter()
    with mock.patch.object(GhlSandboxTransport, "handle_request", autospec=True, side_effect=ghl.handle):
        # Django's first-request costs (URL resolver, imports) belong to neither series.
        answered(http.post(url, data=checks[0], content_type="application/json", HTTP_X_VAPI_SECRET=SECRET))
        http.post("/bench/ping/", data=checks[0], content_type="application/json", HTTP_X_VAPI_SECRET=SECRET)
        warm, trivial = measure(http, url, checks[1:], ghl=ghl, before=start, check=answered, beside="/bench/ping/")
        # Queries are counted on calls of their own, each right after its series (a booking empties the cache).
        fresh = tool_call_body("bench-check-count", "tq", "check_availability", args)
        warm["queries"] = queries_of(http, url, fresh, before=start)
        cold = measure(http, url, colds[1:], ghl=ghl, before=start_cold, check=answered)
        fresh_cold = tool_call_body("bench-cold-count", "cq", "check_availability", args)
        cold["queries"] = queries_of(http, url, fresh_cold, before=start_cold)
        results = {
            "trivial JSON view": trivial,
            "check_availability warm": warm,
            "check_availability cold": cold,
            "book_appointment": measure(http, url, bookings[1:], ghl=ghl, before=start, check=booked),
        }
        results["trivial JSON view"]["queries"] = queries_of(http, "/bench/ping/", checks[0])
        start(bookings[0])
        sent = len(ghl.log)
        results["book_appointment"]["queries"] = queries_of(http, url, bookings[0])
        booking_requests = [
            f"{request}{' (background task)' if in_task else ''}" for in_task, request in ghl.log[sent:]
        ]
    return results, booking_requests, (agency, client, args)


class GhlCounter:
    """GHL requests at the sandbox transport, told apart by where they are made: in the tool call's request
    (what the caller waits on), or in a Celery task it queued (eager here; a worker's, in production)."""

    def __init__(self):
        from celery.signals import task_postrun, task_prerun

        from integrations.ghl.sandbox import GhlSandboxTransport

        self.original = GhlSandboxTransport.handle_request  # before the bench patches it
        self.log, self.depth = [], 0
        task_prerun.connect(self._task_started, weak=False)
        task_postrun.connect(self._task_ended, weak=False)

    def _task_started(self, **_):
        self.depth += 1

    def _task_ended(self, **_):
        self.depth -= 1

    def handle(self, transport, request):
        self.log.append((self.depth > 0, f"{request.method} {request.url.path}"))
        return self.original(transport, request)

    @property
    def call_count(self) -> int:
        """Requests made in a request, not in a task."""
        return sum(1 for in_task, _ in self.log if not in_task)


def assistant_request_body(call_id: str) -> str:
    message = {
        "type": "assistant-request",
        "timestamp": int(time.time() * 1000),
        "call": {"id": call_id, "phoneNumberId": PHONE_ID, "customer": {"number": CALLER}},
        "phoneNumber": {"id": PHONE_ID, "number": PHONE_NUMBER},
    }
    return json.dumps({"message": message})


def served(agency, client, args: str) -> dict:
    """Warm check_availability and assistant-request under gunicorn and wrk, beside the floor (module docstring)."""
    import redis

    from voice.models import Assistant, Call, PhoneNumber

    assistant = Assistant.objects.get(vapi_id=VAPI_ASSISTANT_ID)
    PhoneNumber.objects.create(agency=agency, vapi_id=PHONE_ID, number=PHONE_NUMBER, assistant=assistant)
    prefix = "bench-wrk-"
    Call.objects.bulk_create(
        Call(agency=agency, assistant=assistant, client=client, vapi_call_id=f"{prefix}{n}", caller_number=CALLER)
        for n in range(STARTED_CALLS)
    )
    http = Client(HTTP_HOST="127.0.0.1")
    url = f"/api/webhooks/vapi/{agency.public_id}/"

    def warm_caches():
        """Untimed, in this process, on the same Redis: the asked day's slots and the caller's GHL facts."""
        answered(
            http.post(
                url,
                data=tool_call_body("bench-warm", f"w{time.time_ns()}", "check_availability", args),
                content_type="application/json",
                HTTP_X_VAPI_SECRET=SECRET,
            )
        )
        answer = http.post(
            url,
            data=assistant_request_body(f"bench-warm-{time.time_ns()}"),
            content_type="application/json",
            HTTP_X_VAPI_SECRET=SECRET,
        ).json()
        assert answer.get("assistantId") == VAPI_ASSISTANT_ID, answer

    bodies = {
        "floor": ("/bench/ping/", '{"message": "@CALL@"}', 0),
        "check_availability": (url, tool_call_body("@CALL@", "@TOOL@", "check_availability", args), STARTED_CALLS),
        "assistant-request": (url, assistant_request_body("@CALL@"), 0),
    }
    broker = redis.Redis.from_url(BROKER_URL)
    queued = broker.llen("celery")
    env = {
        **os.environ,
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "False",
        "LOG_LEVEL": "WARNING",
    }
    port = serving.free_port()
    base = f"http://127.0.0.1:{port}"
    series = {}
    connections.close_all()
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "live-gunicorn.log", "w") as log:
        server = serving.gunicorn_start(port, log, env)
        try:

            def load(name, *, clients, seconds, tag):
                path, body, calls = bodies[name]
                calls_prefix = prefix if calls else f"bench-{name}-{tag}-"
                return serving.wrk(
                    base + path,
                    body=body,
                    secret=SECRET,
                    prefix=calls_prefix,
                    tag=f"bench-tool-{tag}",
                    calls=calls,
                    connections=clients,
                    seconds=seconds,
                    script=OUT / "live-wrk.lua",
                )

            warm_caches()
            for name in bodies:  # every worker loads the app and opens its connections before anything is timed
                load(name, clients=2 * serving.WORKERS, seconds=2, tag="warmup")
            for clients in CONNECTIONS:
                totals = {name: {"ok": 0, "failed": 0, "seconds": 0.0, "p50s": []} for name in bodies}
                for n in range(SLICES):
                    warm_caches()
                    for name in bodies:
                        outcome = load(name, clients=clients, seconds=SLICE_SECONDS, tag=f"c{clients}-{n}")
                        for key in ("ok", "failed", "seconds"):
                            totals[name][key] += outcome[key]
                        totals[name]["p50s"].append(outcome["p50_us"])
                for total in totals.values():
                    total["rps"] = round(total["ok"] / total["seconds"], 1)
                    total["p50_ms"] = round(sorted(total.pop("p50s"))[SLICES // 2] / 1000, 2)
                    total["seconds"] = round(total["seconds"], 1)
                for total in totals.values():
                    total["rps_x_floor"] = round(total["rps"] / (totals["floor"]["rps"] or 1), 2)
                    total["p50_x_floor"] = round(total["p50_ms"] / (totals["floor"]["p50_ms"] or 0.01), 2)
                series[clients] = totals
        finally:
            server.terminate()
            server.wait(timeout=15)
    enqueued = broker.llen("celery") - queued
    # The audit records and call starts the load queued (voice/live/records.py) are written now, as the beat task
    # would: every answered tool call must have its record, every answered assistant-request its call.
    from voice.live.records import tool_call_records_flush
    from voice.models import ToolCallRecord

    while tool_call_records_flush():
        pass
    ok = {name: sum(totals[name]["ok"] for totals in series.values()) for name in bodies}
    # Timed slices only (tagged c<connections>-<slice>), not the warm-up.
    recorded = ToolCallRecord.objects.filter(tool_call_id__startswith="bench-tool-c").count()
    started = Call.objects.filter(vapi_call_id__startswith="bench-assistant-request-c").count()
    # Only what the enqueued tasks left (slot warms): the queue and kombu's bindings of it.
    broker.delete("celery", "_kombu.binding.celery", "_kombu.binding_permanent.celery")
    return {
        "series": series,
        "enqueued": enqueued,
        "answered_checks": ok["check_availability"],
        "recorded": recorded,
        "answered_starts": ok["assistant-request"],
        "started": started,
    }


def served_report(result: dict) -> dict:
    print(
        f"gunicorn {result['workers']} sync workers, {connection.vendor}, wrk, {SLICES} alternating "
        f"{SLICE_SECONDS} s slices per series; {result['enqueued']} background tasks queued"
    )
    print(f"{'connections':<13}{'request':<20}{'req/s':>9}{'p50 ms':>9}{'ok':>8}{'failed':>8}{'x rps':>8}{'x p50':>8}")
    for clients, totals in result["series"].items():
        for name, r in totals.items():
            print(
                f"{clients:<13}{name:<20}{r['rps']:>9}{r['p50_ms']:>9}{r['ok']:>8}{r['failed']:>8}"
                f"{r['rps_x_floor']:>8}{r['p50_x_floor']:>8}"
            )
    busiest, single = result["series"][max(CONNECTIONS)], result["series"][1]
    targets = {}
    for name, goal in GOALS.items():
        r = busiest[name]
        ok = r["rps_x_floor"] >= goal and r["failed"] == 0
        targets[f"{name} throughput at {max(CONNECTIONS)} connections {r['rps_x_floor']}x the floor (>= {goal}x)"] = ok
    targets[f"every answered check_availability recorded ({result['recorded']} of {result['answered_checks']})"] = (
        result["recorded"] >= result["answered_checks"]
    )
    targets[f"every answered assistant-request's call stored ({result['started']} of {result['answered_starts']})"] = (
        result["started"] >= result["answered_starts"]
    )
    p50 = single["check_availability"]["p50_x_floor"]
    targets[f"warm check_availability p50 at one connection {p50}x the floor (<= {WARM_P50_GOAL}x)"] = (
        p50 <= WARM_P50_GOAL and single["check_availability"]["failed"] == 0
    )
    return targets


def main():
    old_name = None if ON_POSTGRES else connection.creation.create_test_db(verbosity=0)
    try:
        if ON_POSTGRES:
            call_command("migrate", verbosity=0)
        print(f"database: {connection.vendor}; DEBUG={settings.DEBUG}; SANDBOX={settings.SANDBOX}")
        print(f"{ROUNDS} warm, {COLD_ROUNDS} cold, {BOOKINGS} bookings, in-process server time")
        if settings.TOOL_CALL_RECORD_QUEUE_URL:
            from voice.live import records

            # Records a killed earlier run left in the bench's Redis name that run's (dropped) database's ids.
            records._redis(settings.TOOL_CALL_RECORD_QUEUE_URL).delete(records.QUEUE_KEY)
        # The bench URLconf adds bench/ping/; set before the first request builds the resolver.
        settings.ROOT_URLCONF = "tests.bench.urls"
        results, booking_requests, (agency, client, args) = run()
        # gunicorn needs a database it can share: PostgreSQL only (the in-memory SQLite one is this process's).
        load = served(agency, client, args) if ON_POSTGRES else None
    finally:
        if ON_POSTGRES:
            connections.close_all()
            bench_seed.database_drop(os.environ["DATABASE_URL"])
        else:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    trivial = results["trivial JSON view"]["p50_ms"] or 0.01
    for r in results.values():
        r["p50_vs_trivial"] = round(r["p50_ms"] / trivial, 2)
    print(f"{'request':<26}{'p50 ms':>9}{'p99 ms':>9}{'x trivial':>11}{'GHL mean':>10}{'GHL max':>9}{'queries':>9}")
    for name, r in results.items():
        print(
            f"{name:<26}{r['p50_ms']:>9}{r['p99_ms']:>9}{r['p50_vs_trivial']:>11}"
            f"{r['ghl_requests_mean']:>10}{r['ghl_requests_max']:>9}{r['queries']:>9}"
        )
    print(f"GHL requests of one booking: {', '.join(booking_requests)}")
    warm, cold = results["check_availability warm"], results["check_availability cold"]
    targets = {}
    if load is not None:
        load["workers"] = serving.WORKERS
        targets.update(served_report(load))
    else:
        print("not PostgreSQL: gunicorn and wrk skipped (set DATABASE_URL and BENCH_DATABASE_URL to PostgreSQL)")
    targets |= {
        "zero GHL requests per warm availability": warm["ghl_requests_max"] == 0,
        "at most one GHL request per cold availability": cold["ghl_requests_max"] <= 1,
        "at most three GHL requests per booking, in the tool call": results["book_appointment"]["ghl_requests_max"]
        <= 3,
    }
    for target, ok in targets.items():
        print(f"{verdict(ok)}  {target}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "live.json").write_text(
        json.dumps(
            {
                "vendor": connection.vendor,
                "results": results,
                "booking_ghl_requests": booking_requests,
                "served": load,
                "targets": {target: verdict(ok) for target, ok in targets.items()},
            },
            indent=2,
        )
    )
    rows = [
        (
            name,
            r["p50_ms"],
            r["p99_ms"],
            f"{r['p50_ms']} / {r['p99_ms']} ms ({r['p50_vs_trivial']}x), GHL {r['ghl_requests_max']}",
        )
        for name, r in results.items()
    ]
    (OUT / "live.svg").write_text(bar_chart("Live tool calls: server time (p50 dark, p99 light), GHL requests", rows))
    print(f"wrote {OUT / 'live.json'} and {OUT / 'live.svg'}")


if __name__ == "__main__":
    main()
