"""The watchdog's checks: each turns what the snapshot (and, for calendars and slots, GHL) says about one
client into a state, a sentence and the link that fixes it. None means "not checked this run"."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.urls import reverse

from integrations.ghl.errors import GhlError
from integrations.ghl.models import ConnectionStatus, GhlConnection
from integrations.ghl.tokens import ghl_client_for
from integrations.http import ProviderAuthError
from tenants.models import Agency, ClientAccount
from voice.models import SyncStatus
from voice.watchdog.models import CheckName, CheckState
from voice.watchdog.selectors import RECENT_CALLS_DAYS, AgencySnapshot

SLOT_DAYS = 7
TOOL_ERRORS_FAILING = 3
QUIET_DAYS = 3
# "Usually has calls": at least this many in the four weeks before the quiet window.
USUAL_CALLS = 5
PROBE_SECONDS = 20.0
# A refresh forced whatever the expiry: GHL refused the access token, so only a refresh tells why.


@dataclass(frozen=True)
class CheckResult:
    client: ClientAccount | None
    check_name: str
    state: str
    detail: str
    fix_label: str = ""
    fix_url: str = ""


@dataclass
class GhlProbe:
    """What GHL said about a client this run: its calendars by id and free slots per calendar, or the error."""

    calendars: dict[str, dict] = field(default_factory=dict)
    free_slots: dict[str, int] = field(default_factory=dict)
    error: GhlError | None = None


def _probe_once(*, connection: GhlConnection, calendar_ids: set[str], now) -> GhlProbe:
    client = connection.client
    with ghl_client_for(client_id=client.pk, deadline_seconds=PROBE_SECONDS) as ghl:
        listed = ghl.list_calendars(location_id=ghl.location_id).get("calendars", [])
        probe = GhlProbe(calendars={c["id"]: c for c in listed})
        for calendar_id in sorted(calendar_ids & probe.calendars.keys()):
            answer = ghl.free_slots(
                calendar_id=calendar_id, start=now, end=now + timedelta(days=SLOT_DAYS), timezone=client.time_zone
            )
            days = [day for day in answer.values() if isinstance(day, dict)]
            probe.free_slots[calendar_id] = sum(len(day.get("slots") or []) for day in days)
    return probe


def ghl_probe(*, connection: GhlConnection, calendar_ids: set[str], now) -> GhlProbe:
    """Lists the calendars and counts free slots (the ready client refreshes a refused token once itself)."""
    try:
        return _probe_once(connection=connection, calendar_ids=calendar_ids, now=now)
    except GhlError as exc:
        # A refresh GHL refused has just marked the connection as needing a reconnect: the check reads that.
        connection.refresh_from_db()
        return GhlProbe(error=exc)


def _client_url(client: ClientAccount) -> str:
    return reverse("client_detail", args=[client.agency.slug, client.public_id])


def _calls_url(client: ClientAccount) -> str:
    return reverse("call_list", args=[client.agency.slug]) + f"?client={client.public_id}"


def ghl_connection_check(client, connection: GhlConnection | None, probe: GhlProbe | None) -> CheckResult:
    def result(state, detail):
        return CheckResult(client, CheckName.GHL_CONNECTION, state, detail, "Reconnect", _client_url(client))

    if connection is None:
        return result(CheckState.WARNING, "Not connected to GoHighLevel: the assistant cannot check or book.")
    if connection.status == ConnectionStatus.NEEDS_RECONNECT:
        return result(CheckState.FAILING, f"GoHighLevel needs a reconnect: {connection.last_error or 'token refused'}.")
    if connection.status == ConnectionStatus.DISCONNECTED:
        return result(CheckState.FAILING, "Disconnected from GoHighLevel: the assistant cannot check or book.")
    if probe is not None and probe.error is not None:
        state = CheckState.FAILING if isinstance(probe.error, ProviderAuthError) else CheckState.WARNING
        return result(state, f"GoHighLevel did not answer as expected: {probe.error.message}")
    if connection.last_error:
        return result(CheckState.WARNING, f"The last token refresh failed: {connection.last_error}")
    return result(CheckState.OK, "Connected; GoHighLevel answered.")


def _calendar_rows(assistants) -> list[tuple]:
    return [(assistant, row) for assistant in assistants for row in assistant.calendars.all()]


def calendars_check(client, assistants, probe: GhlProbe | None) -> CheckResult | None:
    rows = _calendar_rows(assistants)
    if probe is None or probe.error is not None:
        return None
    if not rows:
        return CheckResult(client, CheckName.CALENDARS, CheckState.OK, "No calendar to book into yet.")
    missing = [(a, r) for a, r in rows if r.calendar_id not in probe.calendars]
    inactive = [(a, r) for a, r in rows if probe.calendars.get(r.calendar_id, {}).get("isActive") is False]
    renamed = [
        (a, r)
        for a, r in rows
        if r.calendar_id in probe.calendars and probe.calendars[r.calendar_id].get("name") != r.calendar_name
    ]
    if missing or inactive:
        assistant, row = (missing or inactive)[0]
        what = "was deleted in GoHighLevel" if missing else "is turned off in GoHighLevel"
        state, detail = CheckState.FAILING, f"{assistant.name} books into “{row.calendar_name}”, which {what}."
    elif renamed:
        assistant, row = renamed[0]
        new_name = probe.calendars[row.calendar_id].get("name")
        state = CheckState.WARNING
        detail = f"“{row.calendar_name}” of {assistant.name} is now “{new_name}” in GoHighLevel."
    else:
        detail = f"All {len(rows)} calendars found in GoHighLevel."
        return CheckResult(client, CheckName.CALENDARS, CheckState.OK, detail)
    url = reverse("assistant_update", args=[client.agency.slug, assistant.public_id])
    return CheckResult(client, CheckName.CALENDARS, state, detail, "Edit assistant", url)


def free_slots_check(client, assistants, probe: GhlProbe | None) -> CheckResult | None:
    if probe is None or probe.error is not None or not probe.free_slots:
        return None
    names = {r.calendar_id: r.calendar_name for _, r in _calendar_rows(assistants)}
    empty = sorted(names[calendar_id] for calendar_id, count in probe.free_slots.items() if not count)
    url = reverse("assistant_update", args=[client.agency.slug, assistants[0].public_id]) if assistants else ""
    if len(empty) == len(probe.free_slots):
        detail = f"No free slot in the next {SLOT_DAYS} days in {', '.join(empty)}: callers cannot book."
        return CheckResult(client, CheckName.FREE_SLOTS, CheckState.FAILING, detail, "Check calendars", url)
    if empty:
        detail = f"No free slot in the next {SLOT_DAYS} days in {', '.join(empty)}."
        return CheckResult(client, CheckName.FREE_SLOTS, CheckState.WARNING, detail, "Check calendars", url)
    total = sum(probe.free_slots.values())
    return CheckResult(client, CheckName.FREE_SLOTS, CheckState.OK, f"{total} free slots in the next {SLOT_DAYS} days.")


def phone_numbers_check(client, assistants) -> CheckResult:
    if not assistants:
        return CheckResult(client, CheckName.PHONE_NUMBERS, CheckState.OK, "No assistant yet.")
    url = reverse("phone_number_list", args=[client.agency.slug])
    unreachable = [a.name for a in assistants if not a.phone_numbers.all()]
    if unreachable:
        detail = f"No phone number answers with {', '.join(unreachable)}: nobody can call it."
        return CheckResult(client, CheckName.PHONE_NUMBERS, CheckState.FAILING, detail, "Phone numbers", url)
    count = sum(len(a.phone_numbers.all()) for a in assistants)
    return CheckResult(client, CheckName.PHONE_NUMBERS, CheckState.OK, f"{count} number(s) answered by an assistant.")


def vapi_push_check(client, assistants) -> CheckResult:
    failed = [a for a in assistants if a.sync_status == SyncStatus.FAILED]
    if failed:
        assistant = failed[0]
        detail = f"Vapi refused the last push of {assistant.name}: {assistant.sync_error or 'no reason given'}"
        url = reverse("assistant_detail", args=[client.agency.slug, assistant.public_id])
        return CheckResult(client, CheckName.VAPI_PUSH, CheckState.FAILING, detail[:500], "Edit assistant", url)
    return CheckResult(client, CheckName.VAPI_PUSH, CheckState.OK, "Vapi has the latest version of every assistant.")


def tool_errors_check(client, errors: int) -> CheckResult:
    state = CheckState.FAILING if errors >= TOOL_ERRORS_FAILING else CheckState.WARNING if errors else CheckState.OK
    detail = f"{errors} tool call(s) failed in the last hour." if errors else "No tool call failed in the last hour."
    return CheckResult(client, CheckName.TOOL_ERRORS, state, detail, "Calls", _calls_url(client))


def webhook_events_check(agency: Agency, client, failed: int) -> CheckResult:
    url = reverse("webhook_event_list", args=[agency.slug]) + "?status=failed"
    if failed:
        detail = f"{failed} webhook event(s) failed to process{'' if client else ' without a client'}."
        return CheckResult(client, CheckName.WEBHOOK_EVENTS, CheckState.FAILING, detail, "Events", url)
    return CheckResult(client, CheckName.WEBHOOK_EVENTS, CheckState.OK, "Every webhook event was processed.")


def call_volume_check(client, recent: int, before: int) -> CheckResult:
    if not recent and before >= USUAL_CALLS:
        detail = f"No call in {QUIET_DAYS} days, after {before} in the {RECENT_CALLS_DAYS} days before."
        return CheckResult(client, CheckName.CALL_VOLUME, CheckState.FAILING, detail, "Calls", _calls_url(client))
    detail = f"{recent} call(s) in the last {QUIET_DAYS} days."
    return CheckResult(client, CheckName.CALL_VOLUME, CheckState.OK, detail)


def unassigned_numbers_check(agency: Agency, numbers) -> CheckResult:
    url = reverse("phone_number_list", args=[agency.slug])
    if numbers:
        shown = ", ".join(n.number or n.vapi_id for n in numbers[:5])
        detail = f"{len(numbers)} phone number(s) answer with no assistant: {shown}."
        return CheckResult(None, CheckName.PHONE_NUMBERS, CheckState.FAILING, detail, "Phone numbers", url)
    return CheckResult(None, CheckName.PHONE_NUMBERS, CheckState.OK, "Every phone number has an assistant.")


def client_results(*, client: ClientAccount, snapshot: AgencySnapshot, probe: GhlProbe | None) -> list[CheckResult]:
    assistants = snapshot.assistants.get(client.pk, [])
    connection = snapshot.connections.get(client.pk)
    results = [
        ghl_connection_check(client, connection, probe),
        calendars_check(client, assistants, probe),
        free_slots_check(client, assistants, probe),
        phone_numbers_check(client, assistants),
        vapi_push_check(client, assistants),
        tool_errors_check(client, snapshot.tool_errors.get(client.pk, 0)),
        webhook_events_check(client.agency, client, snapshot.failed_events.get(client.pk, 0)),
        call_volume_check(
            client, snapshot.calls_quiet_window.get(client.pk, 0), snapshot.calls_before_window.get(client.pk, 0)
        ),
    ]
    return [result for result in results if result is not None]


def agency_results(*, agency: Agency, snapshot: AgencySnapshot) -> list[CheckResult]:
    return [
        unassigned_numbers_check(agency, snapshot.unassigned_numbers),
        webhook_events_check(agency, None, snapshot.failed_events.get(None, 0)),
    ]
