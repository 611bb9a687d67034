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
Prints a table and PASS/MISS per target; writes artifacts/bench/live.json and live.svg.
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

from tests.bench.chart import bar_chart, verdict  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_LIVE_ROUNDS", "200"))
COLD_ROUNDS = int(os.environ.get("BENCH_COLD_ROUNDS", "60"))
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "12"))
SECRET = "bench-vapi-secret"
LOCATION_ID = "sbxLocChicago0000001"
VAPI_ASSISTANT_ID = "asst-bench-1"
OUT = ROOT / "artifacts" / "bench"


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
    with mock.patch.object(
        GhlSandboxTransport, "handle_request", autospec=True, side_effect=GhlSandboxTransport.handle_request
    ) as ghl:
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
        sent = ghl.call_count
        results["book_appointment"]["queries"] = queries_of(http, url, bookings[0])
        booking_requests = [f"{c.args[1].method} {c.args[1].url.path}" for c in ghl.call_args_list[sent:]]
    return results, booking_requests


def main():
    old_name = None if ON_POSTGRES else connection.creation.create_test_db(verbosity=0)
    try:
        if ON_POSTGRES:
            call_command("migrate", verbosity=0)
        print(f"database: {connection.vendor}; DEBUG={settings.DEBUG}; SANDBOX={settings.SANDBOX}")
        print(f"{ROUNDS} warm, {COLD_ROUNDS} cold, {BOOKINGS} bookings, in-process server time")
        # The bench URLconf adds bench/ping/; set before the first request builds the resolver.
        settings.ROOT_URLCONF = "tests.bench.urls"
        results, booking_requests = run()
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
    targets = {
        "warm availability p50 within 2x of the trivial view": warm["p50_vs_trivial"] <= 2,
        "zero GHL requests per warm availability": warm["ghl_requests_max"] == 0,
        "at most one GHL request per cold availability": cold["ghl_requests_max"] <= 1,
        "at most three GHL requests per booking": results["book_appointment"]["ghl_requests_max"] <= 3,
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
