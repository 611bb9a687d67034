"""`make bench`: server time of the portal's pages on a realistic amount of data.

Builds a throwaway database (PostgreSQL when DATABASE_URL points at it, else SQLite), fills it,
requests each page repeatedly through Django's test client (server time only, no network), and
reports p50 / p95 and the query count per page: a table on stdout, JSON and an SVG bar chart in
artifacts/bench/.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agencyhub.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.bench.chart import bar_chart  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "2000"))
MEMBERS = int(os.environ.get("BENCH_MEMBERS", "60"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "40"))
OUT = ROOT / "artifacts" / "bench"


def seed():
    from tenants.models import AgencyMembership, AgencyRole, ClientAccount, User
    from tenants.services import agency_create

    owner = User.objects.create_user(email="owner@bench.test", password="bench")
    agency = agency_create(name="Bench Agency", owner=owner)
    users = User.objects.bulk_create(User(email=f"staff{i}@bench.test") for i in range(MEMBERS))
    AgencyMembership.objects.bulk_create(AgencyMembership(agency=agency, user=u, role=AgencyRole.STAFF) for u in users)
    ClientAccount.objects.bulk_create(
        (ClientAccount(agency=agency, name=f"Client {i:05}", time_zone="America/New_York") for i in range(CLIENTS)),
        batch_size=1000,
    )
    return owner, agency


def measure(client, url):
    client.get(url)  # warm: templates compiled, session written
    timings = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    timings.sort()
    return {
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
        "queries": len(queries.captured_queries),
    }


def main():
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        print(f"database: {connection.vendor}; DEBUG={settings.DEBUG}; {CLIENTS} clients, {MEMBERS} members")
        print(f"{ROUNDS} rounds a page")
        owner, agency = seed()
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(owner)
        pages = {
            "dashboard": f"/a/{agency.slug}/",
            "clients (page 1)": f"/a/{agency.slug}/clients/",
            "clients (last page)": f"/a/{agency.slug}/clients/?page=last",
            "clients (search)": f"/a/{agency.slug}/clients/?q=client+019",
            "team": f"/a/{agency.slug}/team/",
        }
        results = {name: measure(client, url) for name, url in pages.items()}
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    print(f"{'page':<22}{'p50 ms':>10}{'p95 ms':>10}{'queries':>10}")
    for name, r in results.items():
        print(f"{name:<22}{r['p50_ms']:>10}{r['p95_ms']:>10}{r['queries']:>10}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "pages.json").write_text(json.dumps({"vendor": connection.vendor, "results": results}, indent=2))
    rows = [(name, r["p50_ms"], r["p95_ms"], f"{r['p50_ms']} / {r['p95_ms']} ms") for name, r in results.items()]
    (OUT / "pages.svg").write_text(bar_chart("Server time per page (p50 dark, p95 light)", rows))
    print(f"wrote {OUT / 'pages.json'} and {OUT / 'pages.svg'}")


if __name__ == "__main__":
    main()
