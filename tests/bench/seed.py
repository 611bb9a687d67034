"""Bench databases: created by the bench, named from BENCH_DATABASE_URL, seeded in SQL, reused when seeded.

A bench database is `<BENCH_DATABASE_URL's name>_<size>` (default ah_scale_bench_100k ...). The bench creates
it, marks it with a `bench_seed` row (calls, seed version), and reuses it while the marker matches. It never
drops or seeds a database without its marker (one the bench did not create): it stops and says so.

Seeding is INSERT ... SELECT generate_series, in chunks: 2,000 clients and 60 members; CALLS calls over 50
of those clients, spread evenly over the past 90 days in id order (as production writes them), each with a
~1 KB transcript and its messages (one of 36 conversations: six topics, so a topic word is in one call of
six), costs, a weighted ended reason, two tool-call records, and a booking on every third call.

Autovacuum assumed: PostgreSQL's defaults in production (this server runs with autovacuum off, so the bench
does by hand what it would have done). Its insert-triggered run (autovacuum_vacuum_insert_scale_factor 0.2)
leaves up to a fifth of the rows written since the last vacuum unvacuumed: the bench VACUUMs after the oldest
80% and writes the newest 20% (the days the dashboards read) after it, then only ANALYZEs. A database reused
by a later run first gets what autovacuum would have done since (autovacuum_catch_up): the drain bench deletes
the calls and reports it made, and their dead rows must not slow the next run as production never sees them.
"""

import importlib
import json
import os
import random
from urllib.parse import urlsplit, urlunsplit

import psycopg

SEED_VERSION = "2"
CLIENTS, MEMBERS, CALL_CLIENTS = 2000, 60, 50
CHUNK = 50_000
DAYS = 90
TOPICS = ["a cleaning", "a consultation", "a whitening", "a check-up", "an insurance question", "an emergency"]
# (ended reason, outcome unless booked, weight out of 100)
ENDED_REASONS = [
    ("customer-ended-call", "no_booking", 55),
    ("assistant-ended-call", "no_booking", 25),
    ("silence-timed-out", "no_booking", 8),
    ("voicemail", "no_booking", 6),
    ("customer-did-not-answer", "no_booking", 3),
    ("pipeline-error-openai-llm-failed", "failed", 2),
    ("assistant-forwarded-call", "transferred", 1),
]


def size_label(calls: int) -> str:
    return f"{calls // 1_000_000}m" if calls % 1_000_000 == 0 else f"{calls // 1000}k"


def bench_database_url(suffix: str) -> str:
    """A bench database's URL: BENCH_DATABASE_URL with `_<suffix>` after its name (`make bench` sets it)."""
    base = os.environ.get("BENCH_DATABASE_URL", "")
    url = urlsplit(base)
    if url.scheme not in ("postgres", "postgresql") or url.path in ("", "/"):
        raise SystemExit("bench: set BENCH_DATABASE_URL to a PostgreSQL URL; its name prefixes the bench's databases")
    return urlunsplit(url._replace(path=f"{url.path}_{suffix}"))


def database_url(calls: int) -> str:
    return bench_database_url(size_label(calls))


def _server(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def _name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _marker(url: str) -> tuple | None:
    """(calls, version) of the bench's marker row, (None, None) before seeding; None without the marker table."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('bench_seed')").fetchone()[0] is None:
            return None
        return conn.execute("SELECT calls, version FROM bench_seed").fetchone() or (None, None)


def _exists(url: str) -> bool:
    with psycopg.connect(_server(url), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [_name(url)]).fetchone() is not None


def database_create(url: str) -> None:
    """Creates the database with the bench's marker table (bench_seed), the mark of a database the bench made."""
    with psycopg.connect(_server(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{_name(url)}"')
    with psycopg.connect(url, autocommit=True) as bench:
        bench.execute("CREATE TABLE bench_seed (calls int, version text, seeded_at timestamptz)")


def database_drop(url: str) -> None:
    """Drops the database only when it carries the bench's marker; one the bench did not create stops the bench."""
    if not _exists(url):
        return
    if _marker(url) is None:
        raise SystemExit(f"{_name(url)} exists and the bench did not create it (no bench_seed table): leaving it alone")
    with psycopg.connect(_server(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{_name(url)}" WITH (FORCE)')


def database_fresh(suffix: str) -> str:
    """An empty bench database `<BENCH_DATABASE_URL's name>_<suffix>`, replacing only one the bench made."""
    url = bench_database_url(suffix)
    database_drop(url)
    database_create(url)
    return url


def prepare(calls: int) -> tuple[str, bool]:
    """The database for `calls` calls and whether it still needs seeding; creates it when missing."""
    url = database_url(calls)
    if not _exists(url):
        database_create(url)
        return url, True
    marker = _marker(url)
    if marker is None:
        raise SystemExit(f"{_name(url)} exists and the bench did not create it (no bench_seed table): leaving it alone")
    if marker == (calls, SEED_VERSION):
        autovacuum_catch_up(url)
        return url, False
    if marker != (None, None) and os.environ.get("BENCH_RESEED") != "1":
        raise SystemExit(f"{_name(url)} holds another seed {marker}; BENCH_RESEED=1 drops and recreates it")
    database_drop(url)
    return prepare(calls)


def autovacuum_catch_up(url: str) -> list[str]:
    """VACUUM ANALYZE of each table that autovacuum, at this server's thresholds (PostgreSQL's defaults), would
    have vacuumed or analyzed by now: more dead rows, rows inserted since its last vacuum, or rows changed since its
    last analyze than the threshold plus its scale factor of the table's rows. Returns the tables."""
    due = """
        SELECT s.relid::regclass::text FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        CROSS JOIN LATERAL (SELECT greatest(c.reltuples, 0) AS n) t
        WHERE s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::int
                + current_setting('autovacuum_vacuum_scale_factor')::float * t.n
           OR s.n_ins_since_vacuum > current_setting('autovacuum_vacuum_insert_threshold')::int
                + current_setting('autovacuum_vacuum_insert_scale_factor')::float * t.n
           OR s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::int
                + current_setting('autovacuum_analyze_scale_factor')::float * t.n
        ORDER BY 1
    """
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [table for (table,) in conn.execute(due).fetchall()]
        for table in tables:
            conn.execute(f"VACUUM (ANALYZE) {table}")
    return tables


def conversation(rng: random.Random, topic: str) -> list[dict]:
    """About twelve turns, ~1 KB of transcript: what a short receptionist call looks like."""
    day = rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"])
    turns = [
        ("bot", "Thank you for calling Bright Smile Dental, this is the virtual receptionist. How can I help?"),
        ("user", f"Hi, I'd like to book {topic} for sometime next week if you have anything."),
        ("bot", "Of course. Do you prefer mornings or afternoons, and is there a day that suits you best?"),
        ("user", f"{day} morning would be ideal, I start work around eleven so earlier is better."),
        ("bot", f"For {day}, I have 8 AM, 9:30 AM or 10 AM. Which one would you like?"),
        ("user", "9:30 works. Do you take my insurance? I have Delta Dental through my employer."),
        ("bot", "We accept Delta Dental PPO plans. Please bring your card so the front desk can verify it."),
        ("user", "Great. My name is Jordan Rivera, and this number is the best one to reach me."),
        ("bot", f"Thank you, Jordan. You're booked for {day} at 9:30 AM. You'll get a text reminder."),
        ("user", "Perfect, and is there parking near the office? Last time I had trouble finding a spot."),
        ("bot", "Yes, there's a free lot behind the building, the entrance is on Maple Street."),
        ("user", "Thanks so much, have a good day."),
    ]
    return [{"role": role, "message": text, "secondsFromStart": n * 8.5} for n, (role, text) in enumerate(turns)]


def seed_tenants():
    """The agency, its owner and members, CLIENTS clients, assistants for CALL_CLIENTS of them (ORM: small)."""
    from tenants.models import AgencyMembership, AgencyRole, ClientAccount, User
    from tenants.services import agency_create
    from voice.models import Assistant

    owner = User.objects.create_user(email="owner@bench.test", password="bench")
    agency = agency_create(name="Bench Agency", owner=owner)
    users = User.objects.bulk_create(User(email=f"staff{i}@bench.test") for i in range(MEMBERS))
    AgencyMembership.objects.bulk_create(AgencyMembership(agency=agency, user=u, role=AgencyRole.STAFF) for u in users)
    ClientAccount.objects.bulk_create(
        (ClientAccount(agency=agency, name=f"Client {i:05}", time_zone="America/New_York") for i in range(CLIENTS)),
        batch_size=1000,
    )
    clients = list(ClientAccount.objects.filter(agency=agency).order_by("name")[:CALL_CLIENTS])
    Assistant.objects.bulk_create(
        Assistant(client=c, name="Front desk", time_zone=c.time_zone, vapi_id=f"asst-bench-{i}")
        for i, c in enumerate(clients)
    )
    return agency


CALLS_SQL = """
INSERT INTO voice_call (public_id, agency_id, client_id, assistant_id, vapi_call_id, caller_number, status,
    started_at, ended_at, duration_seconds, ended_reason, outcome, cost, cost_breakdown, transcript, messages,
    recording_url, stereo_recording_url, summary, structured_data, success_evaluation, note_added_at,
    note_attempts, note_error, note_channel, created_at, updated_at, transcript_search)
SELECT gen_random_uuid(), %(agency)s, cl.client_id, cl.assistant_id, 'bench-call-' || n,
    '+1312555' || lpad((n %% 10000)::text, 4, '0'), 'ended', s.started, s.started + make_interval(secs => s.secs),
    s.secs, r.reason, CASE WHEN n %% 3 = 0 THEN 'booked' ELSE r.outcome END, round(s.secs * 0.0012, 4),
    jsonb_build_array(jsonb_build_object('type', 'transport', 'cost', s.secs * 0.00012),
        jsonb_build_object('type', 'model', 'cost', s.secs * 0.00048),
        jsonb_build_object('type', 'voice', 'cost', s.secs * 0.0006)),
    t.transcript, t.messages, 'https://storage.vapi.ai/bench-call-' || n || '-mono.wav', '',
    'The caller asked about ' || t.topic || ' and was offered times for next week.', '{}',
    (ARRAY['true', 'true', 'false'])[1 + n %% 3], NULL, 0, '', '', s.started, s.started, t.search
FROM generate_series(%(first)s, %(last)s) AS n
CROSS JOIN LATERAL (
    SELECT now() - make_interval(secs => %(span)s * (1 - (n + abs(hashint4(n)) %% 1000 / 1000.0) / %(calls)s))
               AS started,
           20 + abs(hashint4(n + 7)) %% 581 AS secs,
           abs(hashint4(n + 13)) %% 100 AS pick
) AS s
JOIN bench_client cl ON cl.k = abs(hashint4(n + 3)) %% %(clients)s
JOIN bench_talk t ON t.k = abs(hashint4(n + 5)) %% 36
JOIN bench_reason r ON s.pick >= r.low AND s.pick < r.high
"""
BOOKINGS_SQL = """
INSERT INTO voice_booking (public_id, client_id, call_id, tool_call_id, calendar_id, calendar_name,
    ghl_appointment_id, ghl_contact_id, caller_name, caller_phone, start, "end", status, spoken_result,
    failure_reason, ghl_status, created_at, updated_at)
SELECT gen_random_uuid(), c.client_id, c.id, c.vapi_call_id || '-book', 'sbxLocChicagCleaning', 'cleaning',
    'appt-' || c.vapi_call_id, '', 'Jordan Rivera', c.caller_number, c.started_at + interval '3 days',
    c.started_at + interval '3 days 30 minutes',
    (ARRAY['booked', 'booked', 'booked', 'booked', 'booked', 'booked', 'booked', 'booked', 'cancelled',
           'rescheduled'])[1 + c.id %% 10],
    'You''re booked for cleaning.', '', '', c.started_at, c.started_at
FROM voice_call c WHERE c.id > %(after)s AND c.outcome = 'booked'
"""
TOOL_CALLS_SQL = """
INSERT INTO voice_toolcallrecord (call_id, tool_call_id, name, arguments, result, error, duration_ms, details,
    created_at)
SELECT c.id, c.vapi_call_id || '-' || t.name, t.name, '{"date": "next tuesday", "service": "cleaning"}',
    'For cleaning, I have Tuesday, November 24 at 9 AM, 11:30 AM or 2 PM.', '', 2 + abs(hashint8(c.id)) %% 398,
    '{}', c.started_at + make_interval(secs => t.secs)
FROM voice_call c CROSS JOIN (VALUES ('check_availability', 0), ('book_appointment', 30)) AS t (name, secs)
WHERE c.id > %(after)s
"""


def _lookup_tables(cursor, agency) -> None:
    from voice.models import Assistant

    rng = random.Random(6)
    cursor.execute("CREATE TEMP TABLE bench_client (k int, client_id bigint, assistant_id bigint)")
    assistants = Assistant.objects.filter(client__agency=agency).order_by("client__name")
    for k, assistant in enumerate(assistants):
        cursor.execute("INSERT INTO bench_client VALUES (%s, %s, %s)", [k, assistant.client_id, assistant.pk])
    cursor.execute("CREATE TEMP TABLE bench_talk (k int, topic text, transcript text, messages jsonb, search tsvector)")
    talks = [(topic, conversation(rng, topic)) for topic in TOPICS for _ in range(6)]
    for k, (topic, messages) in enumerate(talks):
        transcript = "\n".join(f"{m['role']}: {m['message']}" for m in messages)
        cursor.execute(
            "INSERT INTO bench_talk VALUES (%s, %s, %s, %s, to_tsvector('english', %s))",
            [k, topic, transcript, json.dumps(messages), transcript],
        )
    cursor.execute("CREATE TEMP TABLE bench_reason (reason text, outcome text, low int, high int)")
    low = 0
    for reason, outcome, weight in ENDED_REASONS:
        cursor.execute("INSERT INTO bench_reason VALUES (%s, %s, %s, %s)", [reason, outcome, low, low + weight])
        low += weight


def seed(calls: int, log=print) -> None:
    """Seeds the Django default database (a fresh bench database, migrated) with `calls` calls."""
    import time

    from django.db import connection, transaction
    from django.test import override_settings

    started = time.perf_counter()
    agency = seed_tenants()
    backfill = importlib.import_module("voice.migrations.0013_call_days").BACKFILL
    vacuum_at = int(calls * 0.8)
    # A bulk load, not a request: neither the server's statement_timeout nor the client's wait bound applies (a
    # 50,000-call chunk outlasts 30 s on a busy machine).
    with override_settings(DATABASE_QUERY_TIMEOUT=0), connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        _lookup_tables(cursor, agency)
        # Plain bulk load: the search vector comes precomputed from bench_talk, and the daily rollups are
        # rebuilt in one statement at the end (the triggers would compute the same, row by row).
        cursor.execute("SET session_replication_role = replica")
        first = 0
        while first < calls:
            last = min(first + CHUNK, vacuum_at if first < vacuum_at else calls) - 1
            with transaction.atomic():
                cursor.execute("SELECT coalesce(max(id), 0) FROM voice_call")
                after = cursor.fetchone()[0]
                params = {
                    "agency": agency.pk,
                    "first": first,
                    "last": last,
                    "calls": calls,
                    "span": DAYS * 86400,
                    "clients": CALL_CLIENTS,
                    "after": after,
                }
                cursor.execute(CALLS_SQL, params)
                cursor.execute(BOOKINGS_SQL, params)
                cursor.execute(TOOL_CALLS_SQL, params)
            first = last + 1
            if first == vacuum_at:
                cursor.execute("VACUUM ANALYZE")
            log(f"  {first:>9} calls, {time.perf_counter() - started:.0f} s")
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("DELETE FROM voice_callday")
        cursor.execute(backfill)
        cursor.execute("ANALYZE")
        cursor.execute("INSERT INTO bench_seed VALUES (%s, %s, now())", [calls, SEED_VERSION])
        cursor.execute("RESET statement_timeout")
    log(f"seeded {calls} calls in {time.perf_counter() - started:.0f} s")
