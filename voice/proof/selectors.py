"""Reads of the booking proof, always scoped to one agency: proof rates per client and per assistant, the calls
whose claims did not hold, and the watchdog's booking-proof verdict per client."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from tenants.models import Agency, ClientAccount
from voice.models import Assistant, Call, CallProof, CheckName, CheckState, MismatchKind, ProofStatus
from voice.proof.models import CHECKED_STATUSES, HELD_STATUSES
from voice.watchdog.checks import CheckResult

RATE_DAYS = 30
# A mismatch keeps the client's booking-proof check failing this long; then the incident can recover.
ALERT_HOURS = 24
ATTENTION_DAYS = 7
ATTENTION_SHOWN = 5
PROBLEM_STATUSES = (ProofStatus.MISMATCH, ProofStatus.CHANGED)


@dataclass
class ProofRate:
    """Of the calls whose claims were checked, how many held: what the caller was told is in the calendar."""

    public_id: uuid.UUID | None = None
    name: str = ""
    client_name: str = ""
    held: int = 0
    checked: int = 0

    @property
    def rate(self) -> float | None:
        return 100 * self.held / self.checked if self.checked else None

    @property
    def failed(self) -> int:
        return self.checked - self.held


@dataclass
class ProofRates:
    days: int
    overall: ProofRate = field(default_factory=ProofRate)
    clients: list[ProofRate] = field(default_factory=list)
    assistants: list[ProofRate] = field(default_factory=list)

    @property
    def checked_clients(self) -> list[ProofRate]:
        """Clients with checked calls, the lowest rate first: where the agency should look."""
        return sorted((rate for rate in self.clients if rate.checked), key=lambda r: (r.rate, -r.checked, r.name))

    @property
    def checked_assistants(self) -> list[ProofRate]:
        return sorted((rate for rate in self.assistants if rate.checked), key=lambda r: (r.rate, -r.checked, r.name))


def _counts(proofs: QuerySet[CallProof], key: str) -> dict:
    sums = {"held": Count("pk", filter=Q(status__in=HELD_STATUSES)), "checked": Count("pk")}
    return {row[key]: row for row in proofs.values(key).annotate(**sums).order_by()}


def proof_rates(
    *,
    agency: Agency,
    client: ClientAccount | None = None,
    now: datetime | None = None,
    days: int = RATE_DAYS,
    every: bool = False,
) -> ProofRates:
    """The last `days` days per client and per assistant, in four queries: those with checked calls, or `every`
    one of them (the read API lists all, so a client with no claims reads as such rather than missing)."""
    since = (now or timezone.now()) - timedelta(days=days)
    proofs = CallProof.objects.filter(agency=agency, created_at__gte=since, status__in=CHECKED_STATUSES)
    clients = ClientAccount.objects.filter(agency=agency).order_by("name", "pk")
    assistants = Assistant.objects.filter(client__agency=agency).select_related("client")
    if client is not None:
        proofs, clients, assistants = proofs.filter(call__client=client), [client], assistants.filter(client=client)
    by_client, by_assistant = _counts(proofs, "call__client_id"), _counts(proofs, "call__assistant_id")
    if not every:
        # Subqueries, not id lists: the query count stays the same whether or not anything was checked.
        clients = (
            [c for c in clients if c.pk in by_client]
            if client
            else clients.filter(pk__in=proofs.values("call__client_id"))
        )
        assistants = assistants.filter(pk__in=proofs.values("call__assistant_id"))
    rates = ProofRates(days=days)
    for account in clients:
        row = by_client.get(account.pk, {})
        rate = ProofRate(account.public_id, account.name, account.name, row.get("held", 0), row.get("checked", 0))
        rates.clients.append(rate)
        rates.overall.held += rate.held
        rates.overall.checked += rate.checked
    for assistant in assistants.order_by("client__name", "name", "pk"):
        row = by_assistant.get(assistant.pk, {})
        rates.assistants.append(
            ProofRate(
                assistant.public_id, assistant.name, assistant.client.name, row.get("held", 0), row.get("checked", 0)
            )
        )
    return rates


def proof_problems(
    *, agency: Agency, client: ClientAccount | None = None, now: datetime | None = None
) -> tuple[list[CallProof], int]:
    """The newest calls whose claims did not hold (or no longer do) in the last days, and how many there are."""
    since = (now or timezone.now()) - timedelta(days=ATTENTION_DAYS)
    proofs = CallProof.objects.filter(agency=agency, status__in=PROBLEM_STATUSES, checked_at__gte=since)
    if client is not None:
        proofs = proofs.filter(call__client=client)
    shown = list(proofs.select_related("call__client").order_by("-checked_at", "-pk")[:ATTENTION_SHOWN])
    return shown, proofs.count()


def call_proof(*, call: Call) -> CallProof | None:
    return CallProof.objects.filter(call=call).first()


def proof_check_results(*, agency: Agency, clients: list[ClientAccount], now: datetime) -> list[CheckResult]:
    """The watchdog's booking-proof verdict per client: failing while a call of the last ALERT_HOURS told a caller
    something its calendar does not show, so all such calls share one incident."""
    recent = (
        CallProof.objects.filter(
            agency=agency,
            status=ProofStatus.MISMATCH,
            mismatch_found_at__gte=now - timedelta(hours=ALERT_HOURS),
            call__client__in=clients,
        )
        .select_related("call")
        .order_by("-mismatch_found_at", "-pk")
    )
    by_client: dict[int, list[CallProof]] = {}
    for proof in recent:
        by_client.setdefault(proof.call.client_id, []).append(proof)
    results = []
    for client in clients:
        proofs = by_client.get(client.pk)
        if not proofs:
            detail = f"Every call checked in the last {ALERT_HOURS} hours kept its word."
            results.append(CheckResult(client, CheckName.BOOKING_PROOF, CheckState.OK, detail))
            continue
        latest = proofs[0]
        kinds = [MismatchKind(m["kind"]).label.lower() for m in latest.at_call_mismatches]
        detail = (
            f"{len(proofs)} call(s) in the last {ALERT_HOURS} hours told the caller something the calendar "
            f"does not show (latest: {', '.join(dict.fromkeys(kinds)) or 'a mismatch'})."
        )
        url = reverse("call_detail", args=[agency.slug, latest.call.public_id])
        results.append(CheckResult(client, CheckName.BOOKING_PROOF, CheckState.FAILING, detail, "See the call", url))
    return results


@dataclass(frozen=True)
class MismatchRow:
    label: str
    detail: str
    said: str


def call_proof_context(*, call: Call, portal: str) -> dict:
    """The call page's proof: the agency sees every mismatch; a client only that its bookings were verified."""
    proof = call_proof(call=call)
    if proof is None:
        return {"proof": None}
    if portal != "agency":
        return {"proof": proof if proof.status == ProofStatus.HOLDS else None}
    rows = [
        MismatchRow(MismatchKind(m["kind"]).label, m.get("detail", ""), m.get("said", ""))
        for m in proof.mismatches
        if m.get("kind") in MismatchKind.values
    ]
    return {"proof": proof, "proof_mismatches": rows}
