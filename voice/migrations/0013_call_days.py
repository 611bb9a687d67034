"""Per-client daily rollups of calls (voice.models.CallDay), kept by PostgreSQL statement triggers.

Triggers rather than a Python call in one write path: calls and bookings are written by the ingest,
by the live tools (`UPDATE ... SET outcome = 'booked'`, booking status UPDATEs from GHL), by the admin
and by cascading deletes; a trigger counts every one of them, in the writing transaction. Statement
triggers with transition tables add one aggregated upsert per statement (a bulk insert of 100,000
calls is one upsert per client and day, not 100,000), and an UPDATE that changes nothing counted
writes nothing. The backfill is one INSERT ... SELECT. SQLite gets the empty table.

The booking statuses are MADE_BOOKING_STATUSES as of this migration; a change to them needs a
migration that replaces these functions and re-runs the backfill.
"""

import django.db.models.deletion
from django.db import migrations, models

from integrations.postgres import PostgresOnlyIndexes

MADE = "('booked', 'rescheduled', 'cancelled')"
DAY = "(({t}.started_at AT TIME ZONE 'UTC')::date)"

# Rows of signed deltas (agency_id, client_id, day, calls, booked_calls, seconds, timed_calls, cost, bookings).
CALL_DELTA = f"""
SELECT r.agency_id, r.client_id, {DAY.format(t="r")} AS day, {{sign}} AS calls,
       CASE WHEN r.outcome = 'booked' THEN {{sign}} ELSE 0 END AS booked_calls,
       {{sign}} * COALESCE(r.duration_seconds, 0)::bigint AS seconds,
       CASE WHEN r.duration_seconds IS NOT NULL THEN {{sign}} ELSE 0 END AS timed_calls,
       {{sign}} * COALESCE(r.cost, 0) AS cost,
       {{sign}} * (SELECT count(*) FROM voice_booking b WHERE b.call_id = r.id AND b.status IN {MADE}) AS bookings
FROM {{rows}} r WHERE r.started_at IS NOT NULL
"""
BOOKING_DELTA = f"""
SELECT c.agency_id, c.client_id, {DAY.format(t="c")} AS day, 0, 0, 0::bigint, 0, 0::numeric, {{sign}}
FROM {{rows}} b JOIN voice_call c ON c.id = b.call_id
WHERE b.status IN {MADE} AND c.started_at IS NOT NULL
"""
# Only rows whose counted columns changed take part in an UPDATE's deltas.
CALL_CHANGED = (
    "(SELECT n.* FROM {side} n JOIN {other} o ON o.id = n.id WHERE "
    "(o.agency_id, o.client_id, o.started_at, o.outcome, o.duration_seconds, o.cost) IS DISTINCT FROM "
    "(n.agency_id, n.client_id, n.started_at, n.outcome, n.duration_seconds, n.cost))"
)
BOOKING_CHANGED = (
    "(SELECT n.* FROM {side} n JOIN {other} o ON o.id = n.id "
    "WHERE (o.call_id, o.status) IS DISTINCT FROM (n.call_id, n.status))"
)
UPSERT = """
INSERT INTO voice_callday AS d (agency_id, client_id, day, calls, booked_calls, seconds, timed_calls, cost, bookings)
SELECT agency_id, client_id, day, sum(calls), sum(booked_calls), sum(seconds), sum(timed_calls), sum(cost), sum(bookings)
FROM ({deltas}) AS delta (agency_id, client_id, day, calls, booked_calls, seconds, timed_calls, cost, bookings)
GROUP BY agency_id, client_id, day
HAVING sum(calls) <> 0 OR sum(booked_calls) <> 0 OR sum(seconds) <> 0 OR sum(timed_calls) <> 0
    OR sum(cost) <> 0 OR sum(bookings) <> 0
ORDER BY agency_id, day, client_id
ON CONFLICT (agency_id, day, (COALESCE(client_id, 0))) DO UPDATE SET
    calls = d.calls + EXCLUDED.calls, booked_calls = d.booked_calls + EXCLUDED.booked_calls,
    seconds = d.seconds + EXCLUDED.seconds, timed_calls = d.timed_calls + EXCLUDED.timed_calls,
    cost = d.cost + EXCLUDED.cost, bookings = d.bookings + EXCLUDED.bookings
"""


def _function(name: str, delta: str, changed: str, upsert: str = UPSERT) -> str:
    inserted = delta.format(sign=1, rows="new_rows")
    deleted = delta.format(sign=-1, rows="old_rows")
    updated = " UNION ALL ".join(
        (
            delta.format(sign=1, rows=changed.format(side="new_rows", other="old_rows")),
            delta.format(sign=-1, rows=changed.format(side="old_rows", other="new_rows")),
        )
    )
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {upsert.format(deltas=inserted)};
    ELSIF TG_OP = 'DELETE' THEN {upsert.format(deltas=deleted)};
    ELSE {upsert.format(deltas=updated)};
    END IF;
    RETURN NULL;
END $$;
"""


def _triggers(table: str, function: str) -> str:
    return "".join(
        f"CREATE TRIGGER {function}_{event.lower()} AFTER {event} ON {table} REFERENCING {tables} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}();\n"
        for event, tables in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        )
    )


BACKFILL = f"""
INSERT INTO voice_callday (agency_id, client_id, day, calls, booked_calls, seconds, timed_calls, cost, bookings)
SELECT c.agency_id, c.client_id, {DAY.format(t="c")}, count(*), count(*) FILTER (WHERE c.outcome = 'booked'),
       COALESCE(sum(c.duration_seconds), 0), count(c.duration_seconds), COALESCE(sum(c.cost), 0),
       COALESCE(sum(b.made), 0)
FROM voice_call c
LEFT JOIN (SELECT call_id, count(*) AS made FROM voice_booking WHERE status IN {MADE} GROUP BY call_id) b
    ON b.call_id = c.id
WHERE c.started_at IS NOT NULL
GROUP BY 1, 2, 3
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE UNIQUE INDEX voice_callday_key ON voice_callday (agency_id, day, (COALESCE(client_id, 0)))"
    )
    schema_editor.execute(_function("voice_call_day_from_calls", CALL_DELTA, CALL_CHANGED))
    schema_editor.execute(_function("voice_call_day_from_bookings", BOOKING_DELTA, BOOKING_CHANGED))
    schema_editor.execute(_triggers("voice_call", "voice_call_day_from_calls"))
    schema_editor.execute(_triggers("voice_booking", "voice_call_day_from_bookings"))
    schema_editor.execute(BACKFILL)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, function in (("voice_call", "voice_call_day_from_calls"), ("voice_booking", "voice_call_day_from_bookings")):
        for event in ("insert", "update", "delete"):
            schema_editor.execute(f"DROP TRIGGER {function}_{event} ON {table}")
        schema_editor.execute(f"DROP FUNCTION {function}()")


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0001_initial"),
        ("voice", "0012_call_search_stored"),
    ]

    operations = [
        migrations.CreateModel(
            name="CallDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField()),
                ("calls", models.IntegerField(default=0)),
                ("booked_calls", models.IntegerField(default=0)),
                ("seconds", models.BigIntegerField(default=0)),
                ("timed_calls", models.IntegerField(default=0)),
                ("cost", models.DecimalField(decimal_places=4, default=0, max_digits=18)),
                ("bookings", models.IntegerField(default=0)),
                (
                    "agency",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="tenants.agency",
                    ),
                ),
                (
                    "client",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="tenants.clientaccount",
                    ),
                ),
            ],
        ),
        migrations.RunPython(forwards, backwards),
        # One client's dashboard sums its own calls (days in its time zone) from the index alone: its cost
        # follows the client's rows, where the (agency, started_at) index read the whole agency's.
        PostgresOnlyIndexes(
            [
                (
                    "Call",
                    models.Index(
                        fields=["client", "started_at"],
                        include=["agency", "duration_seconds", "cost", "outcome"],
                        name="call_client_stats_idx",
                    ),
                ),
            ]
        ),
    ]
