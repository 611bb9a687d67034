"""`make bench`: server time of the portal's pages on realistic volumes, beside the floor.

Runs against a bench database of its own (tests/bench/seed.py: named from BENCH_DATABASE_URL, created and
seeded by the bench, reused while its marker row matches): 2,000 clients and 60 team members, BENCH_CALLS
calls (default 100,000) over 50 of those clients across the past 90 days, with transcripts, tool calls and
bookings. The cache is Redis as production has it (BENCH_CACHE_URL, default db 12; never flushed).

Each page of PAGES is requested through Django's test client (server time only, no network), every
request followed by one of the trivial view (bench/ping/, the floor), so both see the same machine load.
Reports p50 / p95, p50 as a multiple of the floor's, and the query count: PASS/MISS against p50 < 150 ms
on stdout, JSON (artifacts/bench/pages-<size>.json) and an SVG bar chart.

PAGES is one table of (label, URL name, URL kwargs, query string); a URL name that does not resolve yet
is reported as "not built".
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")

from tests.bench import seed as bench_seed  # noqa: E402

CALLS = int(os.environ.get("BENCH_CALLS", "100000"))
BENCH_URL, NEEDS_SEED = bench_seed.prepare(CALLS)
os.environ.update(
    DATABASE_URL=BENCH_URL,
    CACHE_URL=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/12"),
    CELERY_BROKER_URL=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13"),
    CELERY_TASK_ALWAYS_EAGER="False",
)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402

from tests.bench.chart import bar_chart, verdict  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "20"))
# A slow page stops early (at least MIN_ROUNDS) so the whole `make bench` stays within minutes.
PAGE_SECONDS = float(os.environ.get("BENCH_PAGE_SECONDS", "8"))
MIN_ROUNDS = 5
TARGET_P50_MS = 150
OUT = ROOT / "artifacts" / "bench"
FLOOR = "/bench/ping/"

# (label, URL name, URL kwargs, query string). {agency}, {client} (a client with calls), {call} (a recent call
# of that client with a booking), {month} (last month: a full one), {middle} and {booking_middle} (the keyset
# cursor of the row halfway down the newest-first calls and past bookings) come from the seeded data.
AGENCY = {"agency_slug": "{agency}"}
PAGES = [
    ("dashboard", "dashboard", AGENCY, ""),
    ("clients (page 1)", "client_list", AGENCY, ""),
    ("clients (last page)", "client_list", AGENCY, "page=last"),
    ("clients (search)", "client_list", AGENCY, "q=client+019"),
    ("team", "team", AGENCY, ""),
    ("calls (page 1)", "call_list", AGENCY, ""),
    ("calls (halfway down)", "call_list", AGENCY, "after={middle}"),
    ("calls (last page)", "call_list", AGENCY, "before=last"),
    ("calls (one client)", "call_list", AGENCY, "client={client}"),
    ("calls (search, 1 in 6)", "call_list", AGENCY, "q=whitening"),
    ("bookings (page 1)", "booking_list", AGENCY, ""),
    ("bookings (past, halfway)", "booking_list", AGENCY, "when=past&after={booking_middle}"),
    ("call detail", "call_detail", {**AGENCY, "call_id": "{call}"}, ""),
    ("usage (full month)", "usage", AGENCY, "month={month}"),
    ("client dashboard", "client_dashboard", {**AGENCY, "client_id": "{client}"}, ""),
]
# The client's own portal, requested by that client's admin.
CLIENT = {"client_id": "{client}"}
CLIENT_PAGES = [
    ("portal: dashboard", "client_portal", CLIENT, ""),
    ("portal: calls", "client_call_list", CLIENT, ""),
    ("portal: calls (search)", "client_call_list", CLIENT, "q=whitening"),
    ("portal: bookings", "client_booking_list", CLIENT, ""),
    ("portal: call detail", "client_call_detail", {**CLIENT, "call_id": "{call}"}, ""),
]
# Issue #6 and #12: every list page, search, deep page and the dashboards under 150 ms at p50.
TARGETED = {
    "dashboard",
    "call_list",
    "booking_list",
    "client_list",
    "team",
    "usage",
    "client_dashboard",
    "client_portal",
    "client_call_list",
    "client_booking_list",
}


def seeded_values(agency) -> dict:
    """The URL values PAGES needs, read from the seeded database."""
    from datetime import timedelta

    from voice.dashboards.stats import utc_month
    from voice.models import Booking, Call
    from voice.paging import keyset_token

    calls = Call.objects.filter(agency=agency)
    call = calls.filter(bookings__isnull=False).order_by("-started_at").select_related("client").first()
    total = calls.count()
    middle = calls.order_by("-started_at", "-id").values("started_at", "id")[total // 2]
    past = Booking.objects.filter(client__agency=agency).order_by("-start", "-id").values("start", "id")
    booking_middle = past[past.count() // 2]
    return {
        "agency": agency.slug,
        "client": call.client.public_id,
        "call": call.public_id,
        "month": f"{utc_month() - timedelta(days=1):%Y-%m}",
        "middle": quote(keyset_token(middle["started_at"], middle["id"])),
        "booking_middle": quote(keyset_token(booking_middle["start"], booking_middle["id"])),
    }


def _timed_get(client, url) -> tuple[float, int, int]:
    start = time.perf_counter()
    response = client.get(url)
    return (time.perf_counter() - start) * 1000, response.status_code, len(response.content)


def measure(client, url):
    """The page and the floor, one request each in turn, so both see the same load from the machine."""
    client.get(url)  # warm: templates compiled, session written
    timings, floor = [], []
    deadline = time.perf_counter() + PAGE_SECONDS
    while len(timings) < ROUNDS and (len(timings) < MIN_ROUNDS or time.perf_counter() < deadline):
        elapsed, status, size = _timed_get(client, url)
        assert status == 200, (url, status)
        timings.append(elapsed)
        floor.append(_timed_get(client, FLOOR)[0])
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    timings.sort()
    p50, floor_p50 = statistics.median(timings), statistics.median(floor)
    return {
        "url": url,
        "rounds": len(timings),
        "p50_ms": round(p50, 2),
        "p95_ms": round(timings[max(int(len(timings) * 0.95) - 1, 0)], 2),
        "floor_p50_ms": round(floor_p50, 3),
        "x_floor": round(p50 / floor_p50, 1),
        "kb": round(size / 1024, 1),
        "queries": len(queries.captured_queries),
    }


def client_admin_of(client):
    from tenants.models import ClientMembership, ClientRole, User

    user, _ = User.objects.get_or_create(email="admin@client.bench.test")
    ClientMembership.objects.get_or_create(client=client, user=user, defaults={"role": ClientRole.CLIENT_ADMIN})
    return user


def page_url(name: str, kwargs: dict, query: str, values: dict) -> str | None:
    """The page's URL with the seeded values filled in; None while the URL name does not exist yet."""
    try:
        path = reverse(name, kwargs={key: value.format(**values) for key, value in kwargs.items()})
    except NoReverseMatch:
        return None
    return f"{path}?{query.format(**values)}" if query else path


def prepared_agency():
    """The bench database migrated and seeded (or reused as it was seeded)."""
    from tenants.models import Agency

    call_command("migrate", verbosity=0)
    if NEEDS_SEED:
        bench_seed.seed(CALLS)
    return Agency.objects.get(name="Bench Agency")


def run() -> dict:
    from tenants.models import User

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The bench URLconf adds the floor (bench/ping/); set before the first request builds the resolver.
    settings.ROOT_URLCONF = "tests.bench.urls"
    agency = prepared_agency()
    if os.environ.get("BENCH_SEED_ONLY") == "1":
        return {}
    values = seeded_values(agency)
    print(f"database: {connection.settings_dict['NAME']}; cache: {settings.CACHES['default']['BACKEND']}")
    print(f"DEBUG={settings.DEBUG}; {CALLS} calls; {ROUNDS} rounds a page (>= {MIN_ROUNDS}) within {PAGE_SECONDS:g} s")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(email="owner@bench.test"))
    client_admin = Client(HTTP_HOST="127.0.0.1")
    from tenants.models import ClientAccount

    call_client = ClientAccount.objects.get(public_id=values["client"])
    client_admin.force_login(client_admin_of(call_client))
    results = {}
    for who, pages in ((client, PAGES), (client_admin, CLIENT_PAGES)):
        for label, name, kwargs, query in pages:
            url = page_url(name, kwargs, query, values)
            results[label] = {"name": name, "built": url is not None}
            if url is not None:
                results[label].update(measure(who, url))
    return results


def report(results: dict) -> None:
    head = f"{'page':<26}{'p50 ms':>9}{'p95 ms':>9}{'x floor':>9}{'KB':>8}{'queries':>9}{'rounds':>8}"
    print(f"{head}  target p50 < {TARGET_P50_MS} ms")
    for label, r in results.items():
        if not r["built"]:
            print(f"{label:<26}{'not built':>38}")
            continue
        if r["name"] in TARGETED:
            r["target"] = verdict(r["p50_ms"] < TARGET_P50_MS)
        print(
            f"{label:<26}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['x_floor']:>9}{r['kb']:>8}{r['queries']:>9}"
            f"{r['rounds']:>8}  {r.get('target', '')}"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    size = bench_seed.size_label(CALLS)
    (OUT / f"pages-{size}.json").write_text(
        json.dumps({"vendor": connection.vendor, "calls": CALLS, "rounds": ROUNDS, "results": results}, indent=2)
    )
    rows = [
        (label, r["p50_ms"], r["p95_ms"], f"{r['p50_ms']} / {r['p95_ms']} ms, {r['queries']} queries")
        for label, r in results.items()
        if r["built"]
    ]
    (OUT / f"pages-{size}.svg").write_text(
        bar_chart(f"Server time per page, {CALLS} calls (p50 dark, p95 light)", rows) if rows else "<svg/>"
    )
    print(f"wrote {OUT / f'pages-{size}.json'} and {OUT / f'pages-{size}.svg'}")


def main():
    results = run()
    if results:
        report(results)


if __name__ == "__main__":
    main()
